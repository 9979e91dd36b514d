"""What every importer produces: documents, comments and the editor's warnings."""

import datetime as dt
import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from ..validators import site_path_problem, web_url_problem


class DocumentError(Exception):
    """The file cannot be imported; the message is shown to the editor."""


@dataclass
class ParsedComment:
    author: str
    body: str
    depth: int
    parent_index: int | None = None
    status: str = "approved"  # approved, pending (hidden is never imported)
    created_at: dt.datetime | None = None


@dataclass
class ParsedAttachment:
    """A file to copy into the media folder (`source` beside the export, `target` under media)."""

    source: str
    target: str


@dataclass
class ParsedDocument:
    title: str
    body: str
    content_hash: str
    description: str = ""
    published_at: dt.datetime | None = None
    undated: bool = False
    author: str = ""
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    published: bool = True
    permalink: str = ""
    redirect_from: list[str] = field(default_factory=list)
    canonical_link: str = ""
    image: str = ""
    slug: str = ""
    extra: dict = field(default_factory=dict)
    comments: list[ParsedComment] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    body_is_html: bool = False


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def visible(text: str) -> str:
    """Control characters shown as escapes (a NUL cannot even be stored by PostgreSQL)."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)[:200]


def site_path(value, key: str, warnings: list[str]) -> str:
    """A path of this site (« blog/x » gains its « / »), or "" with a warning when the
    value would lead elsewhere (a scheme, « // », a backslash)."""
    if isinstance(value, bool):  # Eleventy's `permalink: false`: no page of its own
        return ""
    text = str(value or "").strip()
    if not text:
        return ""
    if not text.startswith("/") and not urlsplit(text).scheme and "\\" not in text:
        text = "/" + text
    if problem := site_path_problem(text):
        warnings.append(
            _("%(key)s « %(value)s » ignoré : %(problem)s.")
            % {"key": key, "value": visible(str(value).strip()), "problem": problem}
        )
        return ""
    return text.rstrip("/") or "/"


def web_link(value, warnings: list[str]) -> str:
    """An absolute http(s) address, or "" with a warning."""
    link = str(value or "").strip()
    if link and (problem := web_url_problem(link)):
        warnings.append(
            _("Lien canonique « %(value)s » ignoré : %(problem)s")
            % {"value": visible(link), "problem": problem}
        )
        return ""
    return link


def clean_title(value) -> str:
    """Entities decoded (« &nbsp; », « &#58; »), whitespace collapsed (no-break spaces kept)."""
    text = html.unescape(html.unescape(str(value or "")))
    return re.sub(r"[ \t\r\n\f\v]+", " ", text).strip()


@dataclass
class ImportItem:
    """One document of an export, identified before it is parsed: `key` is its stable
    identity across imports, `digest` the hash of its source (unchanged: skipped)."""

    name: str
    key: str
    digest: str
    parse: Callable[[], ParsedDocument]
