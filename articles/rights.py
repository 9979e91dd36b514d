"""A reader's comments in their data export and erasure (signups/rights.py asks through
`signups.signals`): the comments written from the contact's address are exported;
erasure forgets the address, the name and the IP address behind them.

Erasure keeps the text of comments that were published, without their author's name
(shown « Anonyme ») or IP address, so the discussion and the replies to them still
read; comments never published (waiting for confirmation or review, hidden) and with
no reply are deleted.
"""

from django.db import transaction
from django.dispatch import receiver

from signups import signals

from .cache import pages_invalidate
from .models import Comment, Commenter, CommentStatus


def _iso(value):
    return value.isoformat() if value else None


def _commenters(contact):
    if not contact.email:
        return Commenter.objects.none()
    return Commenter.objects.filter(email__iexact=contact.email)


@receiver(signals.contact_exporting, dispatch_uid="articles.contact_exporting")
def export_comments(sender, contact, **kwargs):
    commenters = list(_commenters(contact))
    comments = (
        Comment.objects.filter(commenter__in=commenters)
        .select_related("article")
        .order_by("created_at", "pk")
    )
    return {
        "comments": {
            "addresses": [
                {
                    "email": c.email,
                    "name": c.name,
                    "confirmed_at": _iso(c.confirmed_at),
                    "created_at": _iso(c.created_at),
                }
                for c in commenters
            ],
            "comments": [
                {
                    "article": comment.article.title,
                    "url": comment.article.get_absolute_url(),
                    "author": comment.author,
                    "text": comment.body,
                    "status": comment.status,
                    "in_reply_to": comment.parent_id,
                    "ip_address": comment.ip_address,
                    "created_at": _iso(comment.created_at),
                }
                for comment in comments
            ],
        }
    }


@receiver(signals.contact_erased, dispatch_uid="articles.contact_erased")
def erase_comments(sender, contact, **kwargs):
    commenters = list(_commenters(contact))
    if not commenters:
        return
    written = Comment.objects.filter(commenter__in=commenters)
    never_shown = written.exclude(status=CommentStatus.APPROVED).filter(replies__isnull=True)
    # delete() cascades to nothing here (no replies); the others are kept anonymous.
    Comment.objects.filter(pk__in=list(never_shown.values_list("pk", flat=True))).delete()
    written.update(author="", ip_address=None, commenter=None)
    Commenter.objects.filter(pk__in=[c.pk for c in commenters]).delete()
    pages_invalidate()
    transaction.on_commit(pages_invalidate)  # a page rendered meanwhile showed the name
