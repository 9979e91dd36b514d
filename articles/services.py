"""Writes about articles: importing documents, publishing, moderating comments, the page cache."""

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .cache import cache_version, pages_invalidate
from .importers.document import DocumentError, ParsedDocument, content_hash, parse_document
from .models import Article, Category, Comment, CommentStatus, Redirect, Status

# --- page cache ------------------------------------------------------------------


def pages_refresh_scheduled() -> None:
    """Tick handler: moves the page-cache version on as soon as a scheduled article's
    time has come, even if no reader asks for a page (see `articles.cache`)."""
    cache_version()


# --- publishing ------------------------------------------------------------------


def article_publish(*, article: Article, at: datetime | None = None) -> Article:
    """Publish now, or at `at` (a future date schedules it)."""
    article.status = Status.PUBLISHED
    article.published_at = at or article.published_at or timezone.now()
    article.save()
    return article


def article_unpublish(*, article: Article) -> Article:
    article.status = Status.DRAFT
    article.save()
    return article


# --- comments --------------------------------------------------------------------


def comments_set_status(*, comments: Iterable[Comment], status: str) -> int:
    count = Comment.objects.filter(pk__in=[c.pk for c in comments]).update(status=status)
    pages_invalidate()
    return count


def comment_reply(*, parent: Comment, author: str, body: str) -> Comment:
    """The editor answers a reader: the reply is published at once, under the comment."""
    last = (
        parent.article.comments.order_by("-position").values_list("position", flat=True).first()
        or 0
    )
    reply = Comment.objects.create(
        article=parent.article,
        parent=parent,
        author=author,
        body=body,
        status=CommentStatus.APPROVED,
        position=last + 1,
    )
    pages_invalidate()
    return reply


# --- import ----------------------------------------------------------------------


@dataclass
class ImportResult:
    path: str
    outcome: str  # created, updated, unchanged, failed
    article: Article | None = None
    message: str = ""
    warnings: list[str] = field(default_factory=list)


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
    names = [name[:100] for name in names]
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
    article.source_path = key
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
    categories = _categories(doc.categories, warnings)
    warnings += article.render()
    article.import_warnings = warnings
    is_new = article.pk is None
    article.save()
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
    """Imported comments keep their order and threading; re-importing replaces them in place."""
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
        if comment.pk is None:
            comment.status = CommentStatus.APPROVED
        comment.save()
        saved.append(comment)
    Comment.objects.filter(pk__in=[c.pk for c in existing.values()]).delete()


_LOOK_UP = object()


def imported_sources(paths: list[Path]) -> dict[str, tuple[int, str]]:
    """{source key: (article id, content hash)} for these files, in one query."""
    keys = [source_key(p) for p in paths]
    rows = Article.objects.filter(source_path__in=keys).values_list(
        "source_path", "pk", "source_hash"
    )
    return {key: (pk, digest) for key, pk, digest in rows}


def article_import_file(*, path: Path, known=_LOOK_UP) -> ImportResult:
    """Import one file in its own transaction: all of it, or nothing.

    `known` is what `imported_sources` says of this file (None: never imported);
    by default it is looked up."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return ImportResult(
            name, "failed", message=_("Lecture impossible : %(error)s") % {"error": exc.strerror}
        )
    key = source_key(path)
    if known is _LOOK_UP:
        known = Article.objects.filter(source_path=key).values_list("pk", "source_hash").first()
    if known and known[1] == content_hash(raw):
        return ImportResult(
            name, "unchanged", article=Article.objects.only("title").get(pk=known[0])
        )
    try:
        doc = parse_document(raw, name=str(path))
    except DocumentError as exc:
        return ImportResult(name, "failed", message=str(exc))
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
                        name,
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
            warnings = _store(article, doc, key=key)
    except Exception as exc:  # one bad file never stops the others
        return ImportResult(
            name,
            "failed",
            message=_("Erreur pendant l’enregistrement : %(error)s") % {"error": exc},
        )
    return ImportResult(
        name, "updated" if existing else "created", article=article, warnings=warnings
    )


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


def collect_files(paths: list[str | Path]) -> tuple[list[Path], list[str]]:
    files, missing = [], []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
            )
        elif path.is_file():
            files.append(path)
        else:
            missing.append(str(item))
    return files, missing
