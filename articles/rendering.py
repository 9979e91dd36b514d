"""Markdown (CommonMark, markdown-it-py) to sanitised HTML (nh3).

Images whose file is not there are never rendered as broken images: their
caption (alt text, links included) is shown in its place.
"""

import html
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nh3
from django.conf import settings
from django.utils.translation import gettext as _
from markdown_it import MarkdownIt

ALLOWED_TAGS = nh3.ALLOWED_TAGS | {"figure", "figcaption", "span", "hr", "br", "del", "s"}
ALLOWED_ATTRIBUTES = {
    **nh3.ALLOWED_ATTRIBUTES,
    "span": {"class"},
    "figure": {"class"},
    "img": {"src", "alt", "title", "loading", "width", "height"},
    "a": {"href", "title"},
}


def image_available(src: str) -> bool:
    """Remote images are trusted to exist; a local path must be a file under MEDIA_ROOT."""
    parts = urlsplit(src)
    if parts.scheme in ("http", "https"):
        return True
    if parts.scheme or not parts.path:
        return False
    relative = unquote(parts.path)
    if relative.startswith(settings.MEDIA_URL):
        relative = relative[len(settings.MEDIA_URL) :]
    relative = relative.lstrip("./").lstrip("/")
    media_root = Path(settings.MEDIA_ROOT).resolve()
    candidate = (media_root / relative).resolve()
    return candidate.is_relative_to(media_root) and candidate.is_file()


def media_src(src: str) -> str:
    parts = urlsplit(src)
    if parts.scheme or src.startswith("/"):
        return src
    return settings.MEDIA_URL + src.lstrip("./")


def _build_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False})

    def render_image(self, tokens, idx, options, env):
        token = tokens[idx]
        src = token.attrGet("src") or ""
        caption = self.renderInline(token.children or [], options, env)
        if not image_available(src):
            env.setdefault("missing_images", []).append(src)
            if not caption.strip():
                return ""
            return f'<span class="image-missing">{caption}</span>'
        alt = html.escape(self.renderInlineAsText(token.children or [], options, env))
        return f'<img src="{html.escape(media_src(src))}" alt="{alt}" loading="lazy">'

    md.add_render_rule("image", render_image)
    return md


_parser = _build_parser()


def _demote_headings(tokens) -> None:
    """The page title is the only <h1>: headings inside the text move one level down."""
    if not any(t.type == "heading_open" and t.tag == "h1" for t in tokens):
        return
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"


def render_markdown(text: str) -> tuple[str, list[str]]:
    env: dict = {}
    tokens = _parser.parse(text, env)
    _demote_headings(tokens)
    rendered = _parser.renderer.render(tokens, _parser.options, env)
    clean = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener",
    )
    warnings = [
        _("Image absente : %(src)s (sa légende est affichée à sa place)") % {"src": src}
        for src in env.get("missing_images", [])
    ]
    return clean, warnings


def squash(text: str) -> str:
    """Collapse ordinary whitespace, keeping non-breaking spaces (French typography)."""
    return re.sub(r"[ \t\r\n\f\v]+", " ", text).strip()


def cut_at_word(text: str, limit: int) -> str:
    """At most `limit` characters, cut between words, with an ellipsis when cut."""
    text = squash(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:–—-")
    return cut + "…"


def excerpt(body_html: str, length: int = 200) -> str:
    """The first paragraph's text, cut at a word."""
    match = re.search(r"<p>(.*?)</p>", body_html, re.S)
    text = match.group(1) if match else body_html
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return cut_at_word(text, length)
