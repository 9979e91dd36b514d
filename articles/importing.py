"""Writes for imports: each document of an export becomes (or updates) an article, in
its own transaction; the formats are read by `articles.importers`."""

import contextlib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .cache import invalidation_deferred
from .importers.base import DocumentError, ImportItem, ParsedDocument
from .importers.sources import Failure, sources_items
from .models import (
    Article,
    Category,
    Comment,
    CommentStatus,
    Redirect,
    Status,
    comment_is_authors_reply,
)
from .services import article_save

OUTCOMES = ("created", "updated", "unchanged", "failed")
BATCH = 200


@dataclass
class ImportResult:
    path: str
    outcome: str  # created, updated, unchanged, failed
    article: Article | None = None
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    title: str = ""


@dataclass
class ImportReport:
    results: list[ImportResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for result in self.results:
            counts[result.outcome] += 1
        return counts

    @property
    def failed(self) -> int:
        return self.counts()["failed"]


def source_key(path: Path) -> str:
    """The file's identity: relative to the project when inside it, so it survives a move of the checkout."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(resolved)


def _unique_slug(base: str, *, exclude_pk=None) -> str:
    base = (base or "article")[:190].strip("-") or "article"
    slug, counter = base, 2
    while Article.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


_PLACEHOLDER_CATEGORY = re.compile(
    r"^(category|cat[ée]gorie|tag|uncategori[sz]ed|non class[ée]|sans cat[ée]gorie|default)"
    r"[\s_-]*\d*$",
    re.I,
)


def _categories(names: list[str], warnings: list[str]) -> list[Category]:
    """The categories named, created when new; a placeholder (« category1 »,
    « Uncategorized ») is created hidden, with a warning."""
    names = [name[:100] for name in names if name.strip()]
    known = {c.name: c for c in Category.objects.filter(name__in=names)} if names else {}
    result = []
    for name in names:
        category = known.get(name)
        placeholder = bool(_PLACEHOLDER_CATEGORY.match(name.strip()))
        if category is None:
            slug = slugify(name) or "categorie"
            candidate, counter = slug, 2
            while Category.objects.filter(slug=candidate).exists():
                candidate = f"{slug}-{counter}"
                counter += 1
            category = known[name] = Category.objects.create(
                name=name, slug=candidate, hidden=placeholder
            )
        if placeholder and category.hidden:
            warnings.append(
                _("Catégorie « %(name)s » : nom de remplissage, importée masquée.") % {"name": name}
            )
        if category not in result:
            result.append(category)
    return result


def _copy_attachments(doc: ParsedDocument) -> None:
    media_root = Path(settings.MEDIA_ROOT).resolve()
    for attachment in doc.attachments:
        target = (media_root / attachment.target).resolve()
        if not target.is_relative_to(media_root):
            continue
        source = Path(attachment.source)
        if target.is_file() and target.stat().st_size == source.stat().st_size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def _store(article: Article, doc: ParsedDocument, *, key: str) -> list[str]:
    """Write the parsed document onto the article (and its categories, redirects, comments)."""
    article.title = doc.title
    article.body = doc.body
    article.description = doc.description
    article.author = doc.author
    article.status = Status.PUBLISHED if doc.published else Status.DRAFT
    warnings = list(doc.warnings)
    article.published_at = doc.published_at
    article.undated = doc.published_at is None
    article.permalink = doc.permalink
    article.canonical_link = doc.canonical_link
    article.image = doc.image
    article.extra = {**doc.extra, "tags": doc.tags} if doc.tags else doc.extra
    article.source_path = key[:500]
    article.source_hash = doc.content_hash
    if doc.slug:
        article.slug = _unique_slug(slugify(doc.slug), exclude_pk=article.pk)
    elif doc.permalink and doc.permalink != "/":
        article.slug = _unique_slug(
            slugify(doc.permalink.rsplit("/", 1)[-1]), exclude_pk=article.pk
        )
    elif not article.slug:
        article.slug = _unique_slug(slugify(doc.title), exclude_pk=article.pk)
    if doc.image:
        from .rendering import image_available

        if not image_available(doc.image):
            warnings.append(
                _("Image absente : %(src)s (l’article s’affiche sans elle)") % {"src": doc.image}
            )
            article.image = ""
            article.extra = {**article.extra, "image_missing": doc.image}
    _copy_attachments(doc)
    categories = _categories(doc.categories, warnings)
    warnings += article.render()
    article.import_warnings = warnings
    is_new = article.pk is None
    article_save(article=article)
    if is_new:
        through = Article.categories.through
        through.objects.bulk_create([through(article=article, category=c) for c in categories])
    else:
        article.categories.set(categories)
    for old_path in doc.redirect_from:
        if old_path != article.get_absolute_url():
            Redirect.objects.update_or_create(old_path=old_path, defaults={"article": article})
    _store_comments(article, doc, is_new=is_new)
    return warnings


def _store_comments(article: Article, doc: ParsedDocument, *, is_new: bool) -> None:
    """Imported comments keep their order, threading, approval and date; re-importing
    replaces them in place (a moderation decision taken here is kept)."""
    if is_new and not doc.comments:
        return
    existing = {} if is_new else {c.position: c for c in article.comments.filter(imported=True)}
    saved: list[Comment] = []
    for position, parsed in enumerate(doc.comments, start=1):
        comment = existing.pop(position, None) or Comment(
            article=article, imported=True, position=position
        )
        comment.author = parsed.author
        comment.body = parsed.body
        comment.parent = saved[parsed.parent_index] if parsed.parent_index is not None else None
        comment.is_author = comment_is_authors_reply(
            author=parsed.author, body=parsed.body, parent=comment.parent
        )
        comment.created_at = parsed.created_at  # none is invented when the source has none
        if comment.pk is None:
            comment.status = (
                CommentStatus.APPROVED if parsed.status == "approved" else CommentStatus.PENDING
            )
        comment.save()
        saved.append(comment)
    Comment.objects.filter(pk__in=[c.pk for c in existing.values()]).delete()


def article_import_item(*, item: ImportItem, known: tuple[int, str] | None) -> ImportResult:
    """Import one document in its own transaction: all of it, or nothing.

    `known` is (article id, content hash) of what was imported from the same source."""
    if known and known[1] == item.digest:
        return ImportResult(
            item.name, "unchanged", article=Article.objects.only("title").get(pk=known[0])
        )
    try:
        doc = item.parse()
    except DocumentError as exc:
        return ImportResult(item.name, "failed", message=str(exc))
    except Exception as exc:  # a malformed document never stops the others
        return ImportResult(
            item.name, "failed", message=_("Document illisible : %(error)s") % {"error": exc}
        )
    doc.content_hash = item.digest
    try:
        with transaction.atomic():
            existing = (
                Article.objects.select_for_update().filter(pk=known[0]).first() if known else None
            )
            if doc.permalink:
                taken = Article.objects.filter(permalink=doc.permalink).exclude(
                    pk=getattr(existing, "pk", None)
                )
                if owner := taken.first():
                    return ImportResult(
                        item.name,
                        "failed",
                        message=_(
                            "L’adresse %(permalink)s est déjà celle de « %(title)s » (%(source)s)."
                        )
                        % {
                            "permalink": doc.permalink,
                            "title": owner.title,
                            "source": owner.source_path or "admin",
                        },
                    )
            article = existing or Article()
            warnings = _store(article, doc, key=item.key)
    except Exception as exc:  # one bad document never stops the others
        return ImportResult(
            item.name,
            "failed",
            message=_("Erreur pendant l’enregistrement : %(error)s") % {"error": exc},
        )
    return ImportResult(
        item.name, "updated" if existing else "created", article=article, warnings=warnings
    )


def article_import_file(*, path: Path) -> ImportResult:
    """One Markdown file (kept for callers that import a single document)."""
    from .importers.sources import markdown_item

    item = markdown_item(path, key=source_key(path), name=str(path))
    if isinstance(item, Failure):
        return ImportResult(item.name, "failed", message=item.message)
    known = Article.objects.filter(source_path=item.key).values_list("pk", "source_hash").first()
    return article_import_item(item=item, known=known)


@contextlib.contextmanager
def import_session():
    """Imports are idempotent and re-runnable: on PostgreSQL, commits need not wait for
    the disk (a crash can only lose the last files imported, never corrupt anything)."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class _DryRun(Exception):
    """Raised at the end of a dry run to roll everything back."""


def import_run(
    *,
    paths: list,
    fmt: str = "auto",
    dry_run: bool = False,
    on_result: Callable[[ImportResult], None] | None = None,
) -> ImportReport:
    """Import every document of every path (files, folders, zips, exports), streaming.

    A dry run does everything in one transaction and rolls it back: the report says
    what would be created, updated, left unchanged or refused."""
    report = ImportReport(dry_run=dry_run)
    with tempfile.TemporaryDirectory(prefix="pouls-import-") as workdir:
        items = sources_items(
            paths=paths, fmt=fmt, workdir=Path(workdir), key_of=source_key, notes=report.notes
        )
        with invalidation_deferred(), import_session():
            try:
                with transaction.atomic() if dry_run else contextlib.nullcontext():
                    _import_all(items, report, on_result)
                    if dry_run:
                        raise _DryRun
            except _DryRun:
                pass
    return report


def _import_all(items, report: ImportReport, on_result) -> None:
    for batch in _batches(items, BATCH):
        keys = [i.key for i in batch if isinstance(i, ImportItem)]
        rows = Article.objects.filter(source_path__in=keys).values_list(
            "source_path", "pk", "source_hash"
        )
        known = {key: (pk, digest) for key, pk, digest in rows}
        for item in batch:
            if isinstance(item, Failure):
                result = ImportResult(item.name, "failed", message=item.message)
            else:
                result = article_import_item(item=item, known=known.get(item.key))
            result.title = result.article.title if result.article else ""
            if on_result:
                on_result(result)
            result.article = None  # the report stays small whatever the export's size
            report.results.append(result)
