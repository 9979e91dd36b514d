"""Reader comments: posting, confirming an address, the editor's digest.

A first comment from an address waits (« adresse à confirmer ») until its writer
follows the link emailed to them and presses the button; confirming releases every
comment of that address. Later comments from a confirmed address go to the editor's
review or straight to the page, as the article (or the site) says.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from config.links import absolute
from config.mail import WellFormedEmail
from config.typography import french_email
from signups import ratelimit, tokens
from signups.models import email_hash

from .cache import pages_invalidate
from .models import Article, Comment, Commenter, CommentSettings, CommentStatus

logger = logging.getLogger(__name__)

# A new confirmation email for the same address at most this often (the earlier link
# confirms the address, and with it every comment waiting for it).
CONFIRMATION_INTERVAL = timedelta(minutes=10)
TOKEN_PURPOSE = "comment"  # noqa: S105 (a signing salt's name, not a secret)


class CommentLinkUsed(Exception):
    """The address behind this link is confirmed already."""

    def __init__(self, comment: Comment):
        super().__init__(comment.pk)
        self.comment = comment


# --- rate limits -----------------------------------------------------------------


def comment_retry_after(*, ip: str | None, email: str) -> int:
    """Count a comment submission: 0 when it may go on, else the seconds to wait."""
    ip_limit, ip_window = settings.COMMENTS_RATE_PER_IP
    address_limit, address_window = settings.COMMENTS_RATE_PER_ADDRESS
    try:
        (by_ip, ip_left), (by_address, address_left) = ratelimit._count(
            [
                (f"articles:comments:rate:ip:{ip}", ip_window),
                (f"articles:comments:rate:email:{email_hash(email)}", address_window),
            ]
        )
    except Exception:
        # The cache is down: take the comment (it still waits for confirmation or review).
        logger.warning("comment rate limits unavailable", exc_info=True)
        return 0
    waits = [ip_left] if by_ip > ip_limit else []
    if by_address > address_limit:
        waits.append(address_left)
    return max(waits, default=0)


# --- posting and confirming --------------------------------------------------------


def _status_for(*, article: Article, commenter: Commenter, name: str) -> str:
    if not commenter.is_confirmed:
        return CommentStatus.UNCONFIRMED
    if name != commenter.name:
        return CommentStatus.PENDING  # a confirmed address under another name: the editor reads it
    return CommentStatus.APPROVED if article.publishes_comments_at_once() else CommentStatus.PENDING


def comment_submit(
    *,
    article: Article,
    name: str,
    email: str,
    body: str,
    parent: Comment | None = None,
    ip_address: str | None = None,
) -> Comment:
    """A reader's comment. Its address is emailed a confirmation link when it has
    never been confirmed (at most once per CONFIRMATION_INTERVAL)."""
    now = timezone.now()
    with transaction.atomic():
        commenter, _created = Commenter.objects.select_for_update().get_or_create(
            email=email, defaults={"name": name}
        )
        status = _status_for(article=article, commenter=commenter, name=name)
        last = article.comments.aggregate(last=Max("position"))["last"] or 0
        comment = Comment.objects.create(
            article=article,
            parent=parent,
            author=name,
            commenter=commenter,
            body=body,
            status=status,
            position=last + 1,
            ip_address=ip_address,
            created_at=now,
        )
        send = status == CommentStatus.UNCONFIRMED and (
            commenter.confirmation_sent_at is None
            or now - commenter.confirmation_sent_at >= CONFIRMATION_INTERVAL
        )
        if send:
            commenter.confirmation_sent_at = now
            commenter.save(update_fields=["confirmation_sent_at"])
            from .tasks import send_comment_confirmation

            send_comment_confirmation.delay_on_commit(comment.pk)
    if status == CommentStatus.APPROVED:
        pages_invalidate()
    return comment


def confirm_url(comment: Comment) -> str:
    token = tokens.make_token(TOKEN_PURPOSE, comment.pk)
    return absolute(reverse("articles:comment_confirm", args=[token]))


def comment_for_confirm_token(token: str) -> Comment:
    """The comment behind a confirmation link (InvalidToken, CommentLinkUsed)."""
    pk = tokens.read_token(TOKEN_PURPOSE, token)
    comment = Comment.objects.select_related("article", "commenter").filter(pk=pk).first()
    if comment is None or comment.commenter is None:
        raise tokens.InvalidToken("no such comment")
    if comment.commenter.is_confirmed:
        raise CommentLinkUsed(comment)
    return comment


def comment_confirm_token(*, token: str) -> Comment:
    """The button of the confirmation page: the address is confirmed, and every comment
    that waited for it goes to review or to the page, as its article says."""
    comment = comment_for_confirm_token(token)
    with transaction.atomic():
        commenter = Commenter.objects.select_for_update().get(pk=comment.commenter_id)
        if commenter.is_confirmed:
            raise CommentLinkUsed(comment)
        commenter.confirmed_at = timezone.now()
        commenter.save(update_fields=["confirmed_at"])
        waiting = commenter.comments.filter(status=CommentStatus.UNCONFIRMED).select_related(
            "article"
        )
        published = False
        for each in waiting:
            each.status = (
                CommentStatus.APPROVED
                if each.article.publishes_comments_at_once()
                else CommentStatus.PENDING
            )
            each.save(update_fields=["status"])
            published = published or each.status == CommentStatus.APPROVED
    comment.refresh_from_db()
    if published:
        pages_invalidate()
    return comment


# --- emails ------------------------------------------------------------------------


def _send(*, name: str, to: list[str], context: dict, language: str = "fr") -> None:
    context = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    with translation.override(language):
        subject = render_to_string(f"articles/email/{name}.subject.txt", context)
        text = render_to_string(f"articles/email/{name}.txt", context)
        html = render_to_string(f"articles/email/{name}.html", context)
    subject, text, html = french_email(
        subject=" ".join(subject.split()), text=text, html=html, language=language
    )
    message = WellFormedEmail(subject=subject, body=text, to=to)
    message.attach_alternative(html, "text/html")
    message.send()


def comment_confirmation_send(*, comment_id: int) -> bool:
    comment = (
        Comment.objects.select_related("article", "commenter")
        .filter(pk=comment_id, status=CommentStatus.UNCONFIRMED, commenter__isnull=False)
        .first()
    )
    if comment is None:
        return False  # confirmed or removed meanwhile
    _send(
        name="comment_confirm",
        to=[comment.commenter.email],
        context={"comment": comment, "article": comment.article, "url": confirm_url(comment)},
    )
    return True


def _digest_recipients(settings_row: CommentSettings) -> list[str]:
    if settings_row.digest_to:
        return [settings_row.digest_to]
    users = get_user_model().objects.filter(is_active=True, is_superuser=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def comments_digest_send() -> int:
    """Daily: when the editor asked for it, one email listing the comments that
    await review, if any arrived since the last digest. Returns the count sent."""
    policy = CommentSettings.load()
    if not policy.digest_enabled:
        return 0
    waiting = Comment.objects.awaiting_moderation().select_related("article")
    if policy.digest_sent_at:
        if not waiting.filter(created_at__gt=policy.digest_sent_at).exists():
            return 0
    count = waiting.count()
    recipients = _digest_recipients(policy)
    if not count or not recipients:
        return 0
    admin_url = absolute(
        reverse("admin:articles_comment_changelist") + f"?status__exact={CommentStatus.PENDING}"
    )
    _send(
        name="comments_digest",
        to=recipients,
        context={
            "count": count,
            "comments": list(waiting.order_by("-created_at")[:20]),
            "admin_url": admin_url,
        },
    )
    CommentSettings.objects.filter(pk=policy.pk).update(digest_sent_at=timezone.now())
    return count
