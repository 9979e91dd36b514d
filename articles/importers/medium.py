"""Medium export (a zip of `posts/*.html`): published posts only (drafts are named
`draft_…`), the link to the Medium original kept as canonical, Medium's chrome removed."""

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from .base import DocumentError, ImportItem, ParsedDocument, clean_title, web_link
from .frontmatter import display_name, parse_date_value
from .htmlbody import html_to_body

_FIELD = r'<{tag}\b[^>]*class="[^"]*\b{cls}\b[^"]*"[^>]*>(.*?)</{tag}>'
_BODY = re.compile(r'<section\b[^>]*data-field="body"[^>]*>(.*)</section>\s*<footer', re.S)
_CHROME = [
    re.compile(r'<div class="section-divider">.*?</div>', re.S),  # separators between sections
    re.compile(r'<h3\b[^>]*class="[^"]*graf--title[^"]*"[^>]*>.*?</h3>', re.S),  # title, again
    re.compile(r'<h4\b[^>]*class="[^"]*graf--subtitle[^"]*"[^>]*>.*?</h4>', re.S),
    re.compile(r"</?(?:section|div)\b[^>]*>"),  # layout wrappers
]


def is_medium(folder: Path) -> bool:
    posts = folder / "posts"
    if not posts.is_dir():
        return False
    sample = next(iter(sorted(posts.glob("*.html"))), None)
    return bool(sample) and b"medium.com" in sample.read_bytes()[:200_000]


def _field(text: str, tag: str, cls: str) -> str:
    match = re.search(_FIELD.format(tag=tag, cls=cls), text, re.S)
    return match.group(1).strip() if match else ""


def iter_items(folder: Path, *, notes: list[str]) -> Iterator[ImportItem]:
    drafts = 0
    for path in sorted((folder / "posts").glob("*.html")):
        if path.name.startswith("draft_"):
            drafts += 1
            continue
        raw = path.read_bytes()
        yield ImportItem(
            name=f"posts/{path.name}",
            key=f"medium:{path.name}",
            digest=hashlib.sha256(raw).hexdigest(),
            parse=lambda raw=raw: parse_post(raw),
        )
    if drafts:
        notes.append(
            _("%(count)s brouillon(s) Medium non importé(s) (seuls les articles publiés le sont).")
            % {"count": drafts}
        )


def parse_post(raw: bytes) -> ParsedDocument:
    warnings: list[str] = []
    text = raw.decode("utf-8", errors="replace")
    title = clean_title(re.sub(r"<[^>]+>", "", _field(text, "h1", "p-name")))
    if not title:
        raise DocumentError(_("Page Medium sans titre (class « p-name ») : rien à importer."))
    body_match = _BODY.search(text)
    if not body_match:
        raise DocumentError(_("Page Medium sans texte (section « body ») : rien à importer."))
    body = body_match.group(1)
    for pattern in _CHROME:
        body = pattern.sub("", body)
    date = re.search(r'<time\b[^>]*class="dt-published"[^>]*datetime="([^"]+)"', text)
    canonical = re.search(r'<a\b[^>]*href="([^"]+)"[^>]*class="p-canonical"', text)
    author = re.sub(r"<[^>]+>", "", _field(text, "a", "p-author"))
    published_at = parse_date_value(date.group(1)) if date else None
    return ParsedDocument(
        title=title[:200],
        body=html_to_body(body),
        content_hash=hashlib.sha256(raw).hexdigest(),
        description=clean_title(re.sub(r"<[^>]+>", "", _field(text, "section", "p-summary"))),
        published_at=published_at,
        undated=published_at is None,
        author=display_name(author),
        canonical_link=web_link(canonical.group(1) if canonical else "", warnings),
        warnings=warnings,
    )
