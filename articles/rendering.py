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

# The written allow-list: what an article may contain once rendered. Everything else
# is removed (tags keep their text; <script>, <style> and their content go whole).
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "iframe", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time",
    "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "iframe": {"src", "title", "width", "height", "allowfullscreen", "loading"},
    "img": {"src", "alt", "title", "loading", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
}
# Iframes are kept only from the players in settings.ARTICLES_EMBED_HOSTS (made to be
# embedded; the Content-Security-Policy frames exactly these); any other iframe
# becomes a link to its address.


def embed_allowed(src: str) -> bool:
    parts = urlsplit(src.strip())
    return parts.scheme == "https" and (parts.hostname or "") in settings.ARTICLES_EMBED_HOSTS


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "iframe" and attr == "src" and not embed_allowed(value):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener",
    attribute_filter=_attribute_filter,
    allowed_classes={
        "blockquote": {"tweet"},
        "figure": {"wp-caption", "gallery"},
        "span": {"image-missing"},
    },
)


def sanitise(html_text: str) -> str:
    # An attribute whose classes were all filtered out is left empty by nh3: drop it.
    return _CLEANER.clean(html_text).replace(' class=""', "")


_ATTR = re.compile(r"""([\w:-]+)\s*(?:=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")
_IFRAME = re.compile(r"<iframe\b([^>]*)>(?:.*?</iframe\s*>)?", re.I | re.S)
_RAW_IMG = re.compile(r"<img\b([^>]*?)/?>", re.I | re.S)
_TWEET = re.compile(r"<blockquote\b[^>]*class=[\"'][^\"']*twitter-tweet[^\"']*[\"'][^>]*>", re.I)


def _attrs(text: str) -> dict[str, str]:
    found = {}
    for name, value in _ATTR.findall(text):
        found[name.lower()] = html.unescape(value[1:-1] if value[:1] in "\"'" else value)
    return found


def _raw_iframe(match: re.Match) -> str:
    attrs = _attrs(match.group(1))
    src = attrs.get("src", "")
    if src.startswith("//"):
        src = "https:" + src
    if embed_allowed(src):
        title = attrs.get("title") or urlsplit(src).hostname
        return (
            f'<iframe src="{html.escape(src)}" title="{html.escape(title)}" '
            'loading="lazy" allowfullscreen></iframe>'
        )
    if urlsplit(src).scheme in ("http", "https"):
        return f'<a href="{html.escape(src)}">{html.escape(src)}</a>'
    return ""


def _raw_image(match: re.Match, env: dict) -> str:
    attrs = _attrs(match.group(1))
    src, alt = attrs.get("src", ""), attrs.get("alt", "")
    if not image_available(src):
        env.setdefault("missing_images", []).append(src)
        return f'<span class="image-missing">{html.escape(alt)}</span>' if alt.strip() else ""
    size = "".join(
        f' {key}="{html.escape(attrs[key])}"' for key in ("width", "height") if attrs.get(key)
    )
    return (
        f'<img src="{html.escape(media_src(src))}" alt="{html.escape(alt)}"{size} loading="lazy">'
    )


def raw_html(content: str, env: dict) -> str:
    """HTML written in the text: iframes from known players, others as links; images
    under the missing-image rule; an embedded tweet keeps its quote and link (its
    script goes with the sanitiser)."""
    content = _IFRAME.sub(_raw_iframe, content)
    content = _RAW_IMG.sub(lambda m: _raw_image(m, env), content)
    return _TWEET.sub('<blockquote class="tweet">', content)


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
    md = MarkdownIt("commonmark", {"html": True})

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

    def render_html(self, tokens, idx, options, env):
        return raw_html(tokens[idx].content, env)

    md.add_render_rule("image", render_image)
    md.add_render_rule("html_block", render_html)
    md.add_render_rule("html_inline", render_html)
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
    clean = sanitise(rendered)
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
