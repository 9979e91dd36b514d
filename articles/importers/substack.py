"""Substack export (a zip of `posts.csv` and `posts/<id>.<slug>.html`)."""

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from .base import DocumentError, ImportItem, ParsedDocument, clean_title
from .frontmatter import parse_date_value
from .htmlbody import html_to_body

# Substack's own buttons (« Subscribe now », « Share ») inside the text.
_CHROME = re.compile(r'<p class="button-wrapper"[^>]*>.*?</p>', re.S)


def is_substack(folder: Path) -> bool:
    return (folder / "posts.csv").is_file() and (folder / "posts").is_dir()


def iter_items(folder: Path, *, notes: list[str]) -> Iterator[ImportItem]:
    text = (folder / "posts.csv").read_bytes().decode("utf-8-sig", errors="replace")
    for row in csv.DictReader(io.StringIO(text)):
        post_id = (row.get("post_id") or "").strip()
        if not post_id or "/" in post_id or "\\" in post_id or post_id.startswith("."):
            continue
        page = folder / "posts" / f"{post_id}.html"
        raw = page.read_bytes() if page.is_file() else b""
        digest = hashlib.sha256(repr(sorted(row.items())).encode() + raw).hexdigest()
        yield ImportItem(
            name=f"posts/{post_id}.html",
            key=f"substack:{post_id}",
            digest=digest,
            parse=lambda row=row, raw=raw, digest=digest: parse_post(row, raw, digest),
        )


def parse_post(row: dict, raw: bytes, digest: str) -> ParsedDocument:
    title = clean_title(row.get("title"))
    if not title:
        raise DocumentError(_("Article Substack sans titre dans posts.csv : rien à importer."))
    if not raw.strip():
        raise DocumentError(
            _("Le fichier du texte (posts/%(id)s.html) manque dans l’export.")
            % {"id": row.get("post_id")}
        )
    published = (row.get("is_published") or "").strip().lower() == "true"
    date = (row.get("post_date") or row.get("email_sent_at") or "").strip()
    published_at = parse_date_value(date) if date else None
    slug = row.get("post_id", "").split(".", 1)[-1] if "." in row.get("post_id", "") else ""
    audience = (row.get("audience") or "everyone").strip()
    return ParsedDocument(
        title=title[:200],
        body=html_to_body(_CHROME.sub("", raw.decode("utf-8", errors="replace"))),
        content_hash=digest,
        description=clean_title(row.get("subtitle")),
        published_at=published_at,
        undated=published_at is None,
        published=published and audience in ("everyone", ""),
        slug=slug,
        redirect_from=[f"/p/{slug}"] if slug else [],
        extra={
            "substack": {
                "post_id": row.get("post_id"),
                "type": row.get("type"),
                "audience": audience,
            }
        },
        warnings=[]
        if audience in ("everyone", "")
        else [_("Réservé aux abonnés payants sur Substack : importé en brouillon.")],
    )
