"""Ghost JSON export (`{"db": [{"data": {"posts": […], "tags": […], …}}]}`): posts and
pages with their HTML, or their Lexical/Mobiledoc document rendered here."""

import hashlib
import html
import json
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from .base import DocumentError, ImportItem, ParsedDocument, clean_title, web_link
from .frontmatter import display_name, parse_date_value
from .htmlbody import html_to_body


def load(path: Path) -> dict:
    try:
        document = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DocumentError(
            _("Export Ghost illisible : JSON invalide (%(error)s).") % {"error": exc}
        ) from exc
    db = document.get("db") if isinstance(document, dict) else None
    data = (
        (db[0] if isinstance(db, list) and db else document).get("data")
        if isinstance(document, dict)
        else None
    )
    if not isinstance(data, dict) or not isinstance(data.get("posts"), list):
        raise DocumentError(_("Ce fichier JSON n’est pas un export Ghost (pas de « posts »)."))
    return data


def is_ghost(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(65536)
    return b'"posts"' in head or (b'"db"' in head and b'"data"' in head)


def iter_items(path: Path, *, notes: list[str]) -> Iterator[ImportItem]:
    data = load(path)
    tags = {t.get("id"): t.get("name", "") for t in data.get("tags", [])}
    users = {
        u.get("id"): display_name(u.get("name") or u.get("slug")) for u in data.get("users", [])
    }
    post_tags: dict = {}
    for row in sorted(data.get("posts_tags", []), key=lambda r: r.get("sort_order") or 0):
        post_tags.setdefault(row.get("post_id"), []).append(tags.get(row.get("tag_id"), ""))
    post_authors: dict = {}
    for row in sorted(data.get("posts_authors", []), key=lambda r: r.get("sort_order") or 0):
        post_authors.setdefault(row.get("post_id"), []).append(users.get(row.get("author_id"), ""))
    for post in data["posts"]:
        raw = json.dumps(post, sort_keys=True).encode()
        names = post_authors.get(post.get("id")) or [users.get(post.get("author_id"), "")]
        tag_names = post_tags.get(post.get("id"), [])

        def parse(post=post, raw=raw, names=names, tag_names=tag_names) -> ParsedDocument:
            return parse_post(post, raw=raw, authors=names, tags=tag_names)

        yield ImportItem(
            name=f"{path.name} › {post.get('title') or post.get('slug')}",
            key=f"ghost:{post.get('uuid') or post.get('id')}",
            digest=hashlib.sha256(raw).hexdigest(),
            parse=parse,
        )


def parse_post(post: dict, *, raw: bytes, authors: list[str], tags: list[str]) -> ParsedDocument:
    warnings: list[str] = []
    title = clean_title(post.get("title"))
    if not title:
        raise DocumentError(_("Article Ghost sans titre : rien à importer."))
    body_html = post.get("html") or ""
    if not body_html and post.get("lexical"):
        body_html = lexical_to_html(json.loads(post["lexical"]))
    elif not body_html and post.get("mobiledoc"):
        body_html = mobiledoc_to_html(json.loads(post["mobiledoc"]))
    if post.get("feature_image"):
        body_html = (
            f'<figure><img src="{html.escape(post["feature_image"])}" alt=""></figure>\n'
            + body_html
        )
    status = post.get("status", "published")
    date = post.get("published_at") or (None if status == "draft" else post.get("created_at"))
    published_at = parse_date_value(date) if date else None
    # Ghost's internal tags (#hash) are for themes, not readers.
    public_tags = [t for t in tags if t and not t.startswith("#")]
    return ParsedDocument(
        title=title[:200],
        body=html_to_body(body_html),
        content_hash=hashlib.sha256(raw).hexdigest(),
        description=clean_title(post.get("custom_excerpt") or post.get("meta_description") or ""),
        published_at=published_at,
        undated=published_at is None,
        author=", ".join(dict.fromkeys(a for a in authors if a)),
        categories=public_tags,
        published=status in ("published", "scheduled")
        and post.get("visibility", "public") == "public",
        canonical_link=web_link(post.get("canonical_url"), warnings),
        slug=post.get("slug") or "",
        redirect_from=[],
        extra={
            "ghost": {
                "type": post.get("type", "post"),
                "status": status,
                "visibility": post.get("visibility", "public"),
            }
        },
        warnings=warnings,
    )


# --- Lexical (Ghost 5) -------------------------------------------------------------

_FORMATS = ((1, "strong"), (2, "em"), (8, "u"), (4, "s"), (16, "code"))


def lexical_to_html(document: dict) -> str:
    return "".join(_lexical(node) for node in document.get("root", {}).get("children", []))


def _lexical(node: dict) -> str:
    kind = node.get("type")
    inner = "".join(_lexical(child) for child in node.get("children", []))
    if kind in _LEXICAL_WRAPPED:
        tag = _LEXICAL_WRAPPED[kind]
        return f"<{tag}>{inner}</{tag}>"
    render = _LEXICAL_NODES.get(kind)
    return render(node, inner) if render else inner


def _lexical_text(node: dict, _inner: str) -> str:
    text = html.escape(node.get("text", ""))
    for bit, tag in _FORMATS:
        if node.get("format", 0) & bit:
            text = f"<{tag}>{text}</{tag}>"
    return text


def _lexical_heading(node: dict, inner: str) -> str:
    tag = node.get("tag", "h2")
    return f"<{tag}>{inner}</{tag}>" if tag in {f"h{i}" for i in range(1, 7)} else f"<p>{inner}</p>"


def _lexical_list(node: dict, inner: str) -> str:
    tag = "ol" if node.get("listType") == "number" else "ul"
    return f"<{tag}>{inner}</{tag}>"


def _lexical_image(node: dict, _inner: str) -> str:
    caption = node.get("caption") or ""
    image = f'<img src="{html.escape(node.get("src", ""))}" alt="{html.escape(node.get("alt") or node.get("altText") or "")}">'
    if caption:
        return f"<figure>{image}<figcaption>{caption}</figcaption></figure>"
    return f"<figure>{image}</figure>"


def _lexical_markdown(node: dict, _inner: str) -> str:
    from ..rendering import render_markdown

    return render_markdown(node.get("markdown", ""))[0]


def _lexical_bookmark(node: dict, _inner: str) -> str:
    url = node.get("url", "")
    title = (node.get("metadata") or {}).get("title") or url
    return f'<p><a href="{html.escape(url)}">{html.escape(title)}</a></p>'


# Lexical node types that only wrap their children in one element.
_LEXICAL_WRAPPED = {
    "paragraph": "p",
    "quote": "blockquote",
    "extended-quote": "blockquote",
    "aside": "blockquote",
    "listitem": "li",
}
_LEXICAL_NODES = {
    "text": _lexical_text,
    "extended-text": _lexical_text,
    "linebreak": lambda node, inner: "<br>",
    "heading": _lexical_heading,
    "extended-heading": _lexical_heading,
    "list": _lexical_list,
    "link": lambda node, inner: f'<a href="{html.escape(node.get("url", ""))}">{inner}</a>',
    "autolink": lambda node, inner: f'<a href="{html.escape(node.get("url", ""))}">{inner}</a>',
    "image": _lexical_image,
    "horizontalrule": lambda node, inner: "<hr>",
    "html": lambda node, inner: node.get("html", ""),
    "embed": lambda node, inner: node.get("html", ""),
    "markdown": _lexical_markdown,
    "codeblock": lambda node, inner: f"<pre><code>{html.escape(node.get('code', ''))}</code></pre>",
    "bookmark": _lexical_bookmark,
}


# --- Mobiledoc (Ghost 1 to 4) ------------------------------------------------------


def mobiledoc_to_html(document: dict) -> str:
    markups = document.get("markups", [])
    cards = document.get("cards", [])
    out = []
    for section in document.get("sections", []):
        if section[0] == 1:  # markup section: [1, tag, markers]
            tag = str(section[1]).lower()
            out.append(f"<{tag}>{_markers(section[2], markups)}</{tag}>")
        elif section[0] == 3:  # list section: [3, tag, items]
            tag = str(section[1]).lower()
            items = "".join(f"<li>{_markers(item, markups)}</li>" for item in section[2])
            out.append(f"<{tag}>{items}</{tag}>")
        elif section[0] == 10:  # card section: [10, card index]
            name, payload = cards[section[1]]
            out.append(_card(name, payload))
    return "\n".join(out)


def _markers(markers: list, markups: list) -> str:
    text, stack = "", []
    for marker in markers:
        _kind, opens, closes, value = marker
        for index in opens:
            tag, attrs = (markups[index] + [[]])[:2]
            stack.append(tag)
            pairs = dict(zip(attrs[::2], attrs[1::2], strict=False))
            attr = f' href="{html.escape(pairs["href"])}"' if tag == "a" and "href" in pairs else ""
            text += f"<{tag}{attr}>"
        text += html.escape(value) if isinstance(value, str) else ""
        for _closed in range(closes):
            text += f"</{stack.pop()}>"
    return text


def _card(name: str, payload: dict) -> str:
    if name == "image":
        image = f'<img src="{html.escape(payload.get("src", ""))}" alt="{html.escape(payload.get("alt", ""))}">'
        caption = payload.get("caption")
        return (
            f"<figure>{image}<figcaption>{caption}</figcaption></figure>"
            if caption
            else f"<figure>{image}</figure>"
        )
    if name in ("markdown", "card-markdown"):
        from ..rendering import render_markdown

        return render_markdown(payload.get("markdown", ""))[0]
    if name in ("html", "embed"):
        return payload.get("html", "")
    if name == "hr":
        return "<hr>"
    if name == "code":
        return f"<pre><code>{html.escape(payload.get('code', ''))}</code></pre>"
    return ""
