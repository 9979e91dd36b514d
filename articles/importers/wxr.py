"""WordPress export (WXR): streamed with an incremental parser, so memory does not grow
with the export. defusedxml refuses DTDs and entity declarations (no XXE, no billion
laughs). Two passes: the first reads authors and attachments (small maps), the second
yields one item per post or page."""

import hashlib
import html
import re
import xml.etree.ElementTree as ET  # types only; parsing goes through defusedxml
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from django.conf import settings
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from .base import (
    DocumentError,
    ImportItem,
    ParsedAttachment,
    ParsedComment,
    ParsedDocument,
    clean_title,
    site_path,
)
from .frontmatter import display_name, parse_date_value
from .htmlbody import html_to_body
from .shortcodes import shortcodes_to_html

IMPORTED_TYPES = {"post", "page"}
MEDIA_FOLDER = "imports/wordpress"
_UPLOAD = re.compile(r"""(?:https?:)?//[^\s"'<>]+?/wp-content/uploads/([^\s"'<>?#]+)""")


def _local(tag: str) -> str:
    """`{http://wordpress.org/export/1.2/}post_id` → `wp:post_id` (any WXR version)."""
    if not tag.startswith("{"):
        return tag
    uri, name = tag[1:].split("}", 1)
    if "wordpress.org/export" in uri:
        prefix = "excerpt" if "excerpt" in uri else "wp"
    elif "purl.org/rss/1.0/modules/content" in uri:
        prefix = "content"
    elif "purl.org/dc/elements" in uri:
        prefix = "dc"
    else:
        prefix = "x"
    return f"{prefix}:{name}"


def _events(path: Path, events=("start", "end")):
    try:
        yield from iterparse(str(path), events=events, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise DocumentError(
            _("Fichier XML refusé : il déclare une DTD ou des entités (%(error)s).")
            % {"error": type(exc).__name__}
        ) from exc
    except ET.ParseError as exc:
        raise DocumentError(
            _("Fichier XML mal formé (%(error)s) : exportez-le à nouveau depuis WordPress.")
            % {"error": exc}
        ) from exc


def _text(elem: ET.Element, name: str) -> str:
    for child in elem:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def is_wxr(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4096)
    return b"<rss" in head and b"wordpress.org/export" in head


def _channel_children(path: Path) -> Iterator[ET.Element]:
    """Each direct child of <channel> (an author, a category, an item) once it is
    complete; it is dropped right after, so memory stays flat."""
    depth, channel = 0, None
    for event, elem in _events(path):
        if event == "start":
            depth += 1
            if depth == 2:
                channel = elem
            continue
        if depth == 3:
            yield elem
            channel.clear()
        depth -= 1
    if channel is None:
        raise DocumentError(_("Ce fichier XML n’est pas un export WordPress (pas de <channel>)."))


def _first_pass(path: Path) -> tuple[dict[str, str], dict[str, str], str]:
    """(authors by login, attachment URLs by id, site URL)."""
    authors, attachments, site = {}, {}, ""
    for elem in _channel_children(path):
        name = _local(elem.tag)
        if name == "wp:author":
            login = _text(elem, "wp:author_login")
            authors[login] = display_name(
                {
                    "display_name": _text(elem, "wp:author_display_name"),
                    "first_name": _text(elem, "wp:author_first_name"),
                    "last_name": _text(elem, "wp:author_last_name"),
                }
            ) or display_name(login)
        elif name == "item":
            if _text(elem, "wp:post_type") == "attachment":
                attachments[_text(elem, "wp:post_id")] = _text(elem, "wp:attachment_url")
        elif name in ("link", "wp:base_blog_url") and not site:
            site = (elem.text or "").strip()
    return authors, attachments, site


def iter_items(path: Path, *, notes: list[str]) -> Iterator[ImportItem]:
    """One item per post or page; `notes` receives what was left out (other types)."""
    authors, attachments, site = _first_pass(path)
    skipped: dict[str, int] = {}
    for elem in _channel_children(path):
        if _local(elem.tag) != "item":
            continue
        kind = _text(elem, "wp:post_type") or "post"
        if kind in IMPORTED_TYPES:
            yield _item(elem, path=path, authors=authors, attachments=attachments, site=site)
        else:
            skipped[kind] = skipped.get(kind, 0) + 1
    if skipped:
        notes.append(
            _("Éléments WordPress non importés : %(list)s.")
            % {"list": ", ".join(f"{k} ({v})" for k, v in sorted(skipped.items()))}
        )


def _item(elem, *, path, authors, attachments, site) -> ImportItem:
    raw = ET.tostring(elem)
    guid = _text(elem, "guid") or _text(elem, "wp:post_id")
    title = clean_title(_text(elem, "title")) or guid
    fields = {
        child_name: (child.text or "")
        for child in elem
        if (child_name := _local(child.tag)) not in ("wp:comment", "category", "wp:postmeta")
    }
    categories = [
        (c.get("domain") or "category", clean_title(c.text or ""))
        for c in elem
        if _local(c.tag) == "category"
    ]
    comments = [
        {_local(f.tag): (f.text or "").strip() for f in c}
        for c in elem
        if _local(c.tag) == "wp:comment"
    ]
    meta = {
        _text(m, "wp:meta_key"): _text(m, "wp:meta_value")
        for m in elem
        if _local(m.tag) == "wp:postmeta"
    }

    def parse() -> ParsedDocument:
        return parse_post(
            fields, categories, comments, meta,
            raw=raw, base=path.parent, authors=authors, attachments=attachments, site=site,
        )  # fmt: skip

    return ImportItem(
        name=f"{path.name} › {title}",
        key=f"wxr:{guid}"[:500],
        digest=hashlib.sha256(raw).hexdigest(),
        parse=parse,
    )


def _old_paths(fields: dict, site: str, warnings: list[str]) -> list[str]:
    paths = []
    for value in (fields.get("link", ""), fields.get("guid", "")):
        parts = urlsplit(value.strip())
        if parts.query or not parts.path or parts.path == "/":
            continue  # ?p=12 cannot be matched by path alone
        if site and parts.netloc and parts.netloc != urlsplit(site).netloc:
            continue
        if old := site_path(parts.path, "link", warnings):
            paths.append(old)
    return list(dict.fromkeys(paths))


def _local_uploads(body: str, base: Path) -> tuple[str, list[ParsedAttachment]]:
    """Uploads whose file is beside the export (`wp-content/uploads/…` or `uploads/…`)
    are copied into the media folder, and the text points there."""
    found = []

    def swap(match: re.Match) -> str:
        relative = match.group(1)
        if ".." in relative.split("/"):
            return match.group(0)
        for folder in (base / "wp-content" / "uploads", base / "uploads"):
            candidate = folder / relative
            if candidate.is_file():
                target = f"{MEDIA_FOLDER}/{relative}"
                found.append(ParsedAttachment(source=str(candidate), target=target))
                return settings.MEDIA_URL + target
        return match.group(0)

    return _UPLOAD.sub(swap, body), found


def parse_post(fields, categories, comments, meta, *, raw, base, authors, attachments, site):
    warnings: list[str] = []
    status = fields.get("wp:status", "publish").strip()
    content = shortcodes_to_html(
        fields.get("content:encoded", ""), attachments=attachments, warnings=warnings
    )
    content, copied = _local_uploads(content, base)
    body = html_to_body(content, autop=True)
    title = clean_title(fields.get("title", ""))
    if not title:
        raise DocumentError(_("Article WordPress sans titre : rien à importer."))
    date_text = fields.get("wp:post_date_gmt", "").strip()
    published_at = None
    if date_text and not date_text.startswith("0000"):
        published_at = parse_date_value(date_text.replace(" ", "T") + "+00:00")
    elif fields.get("wp:post_date", "").strip()[:4] not in ("", "0000"):
        published_at = parse_date_value(fields["wp:post_date"].strip())
    if status == "trash":
        warnings.append(_("Article dans la corbeille de WordPress : importé en brouillon."))
    if fields.get("wp:post_password", "").strip():
        warnings.append(_("Article protégé par mot de passe : importé en brouillon."))
    published = status in ("publish", "future") and not fields.get("wp:post_password", "").strip()
    return ParsedDocument(
        title=title[:200],
        body=body,
        content_hash=hashlib.sha256(raw).hexdigest(),
        description=clean_title(re.sub(r"<[^>]+>", "", fields.get("excerpt:encoded", "")))[:500],
        published_at=published_at,
        undated=published_at is None,
        author=display_name(
            authors.get(fields.get("dc:creator", "").strip()) or fields.get("dc:creator", "")
        ),
        categories=[name for domain, name in categories if domain == "category" and name],
        tags=[name for domain, name in categories if domain == "post_tag" and name],
        published=published,
        redirect_from=_old_paths(fields, site, warnings),
        slug=fields.get("wp:post_name", "").strip(),
        extra={
            "wordpress": {
                "post_id": fields.get("wp:post_id", ""),
                "type": fields.get("wp:post_type", "post"),
                "status": status,
            }
        },
        comments=_comments(comments, warnings),
        attachments=copied,
        warnings=warnings,
    )


def _comments(rows: list[dict], warnings: list[str]) -> list[ParsedComment]:
    """Threaded by `comment_parent`, approval kept; spam, trash and pingbacks are left out.
    Commenters' addresses and IPs are never read."""
    kept = [
        r for r in rows
        if r.get("wp:comment_approved", "1") in ("1", "0")
        and r.get("wp:comment_type", "comment") in ("", "comment")
    ]  # fmt: skip
    if len(kept) < len(rows):
        warnings.append(
            _(
                "%(count)s commentaire(s) indésirable(s), supprimé(s) ou rétrolien(s) non importé(s)."
            )
            % {"count": len(rows) - len(kept)}
        )
    kept.sort(key=lambda r: int(r.get("wp:comment_id") or 0))
    index_of: dict[str, int] = {}
    result: list[ParsedComment] = []
    for row in kept:
        parent = index_of.get(row.get("wp:comment_parent", "0"))
        date = row.get("wp:comment_date_gmt", "")
        result.append(
            ParsedComment(
                author=display_name(row.get("wp:comment_author", ""))[:120],
                body=html.unescape(strip_tags(row.get("wp:comment_content", ""))).strip(),
                depth=result[parent].depth + 1 if parent is not None else 0,
                parent_index=parent,
                status="approved" if row.get("wp:comment_approved") == "1" else "pending",
                created_at=parse_date_value(date.replace(" ", "T") + "+00:00")
                if date and not date.startswith("0000")
                else None,
            )
        )
        index_of[row.get("wp:comment_id", "")] = len(result) - 1
    return result
