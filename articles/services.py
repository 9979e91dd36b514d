"""Writes about articles: publishing, moderating comments, the page cache (imports: `importing`)."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .cache import cache_version, pages_invalidate
from .models import Article, Comment, CommentStatus, Redirect, Status

# --- page cache ------------------------------------------------------------------


def pages_refresh_scheduled() -> None:
    """Tick handler: moves the page-cache version on as soon as a scheduled article's
    time has come, even if no reader asks for a page (see `articles.cache`)."""
    cache_version()


# --- saving and publishing ----------------------------------------------------------


@transaction.atomic
def article_save(*, article: Article) -> Article:
    """Save `article` as the editor or an import changed it. When its address changed
    (slug or permalink), the old one keeps working: a permanent redirect, which readers'
    bookmarks and search engines follow; a former address it takes back stops
    redirecting (no loop)."""
    old_url = None
    if article.pk:
        previous = Article.objects.filter(pk=article.pk).only("slug", "permalink").first()
        if previous:
            old_url = previous.get_absolute_url()
    article.save()
    new_url = article.get_absolute_url()
    if old_url and old_url != new_url:
        Redirect.objects.update_or_create(old_path=old_url, defaults={"article": article})
        Redirect.objects.filter(old_path=new_url).delete()
    return article


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
    """The editor answers a reader: the reply is published at once, under the comment,
    and shown as the article author's."""
    last = (
        parent.article.comments.order_by("-position").values_list("position", flat=True).first()
        or 0
    )
    reply = Comment.objects.create(
        article=parent.article,
        parent=parent,
        author=author,
        is_author=True,
        body=body,
        status=CommentStatus.APPROVED,
        position=last + 1,
    )
    pages_invalidate()
    return reply
