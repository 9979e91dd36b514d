"""When a mailing is over: `sending` becomes `sent` once nothing is left to send or in
a worker's hands, and its final progress is stored (the pages then read that instead of
counting its deliveries again)."""

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .models import Delivery, Mailing, Variant

S = Delivery.Status


def mailings_finish() -> int:
    """Mark sending mailings with nothing left in flight as sent."""
    finished = 0
    # An A/B test whose winner is not chosen yet is not over: the rest waits for it.
    waiting = Exists(Variant.objects.filter(mailing=OuterRef("pk"))) & Q(ab_winner__isnull=True)
    for mailing in Mailing.objects.filter(status=Mailing.Status.SENDING).exclude(waiting):
        if not mailing.deliveries.filter(status__in=(S.PENDING, S.CLAIMED)).exists():
            # Its progress no longer changes: stored, the pages read it instead of
            # counting the deliveries again.
            finished += Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SENDING).update(
                status=Mailing.Status.SENT,
                finished_at=timezone.now(),
                final_progress=mailing.progress(),
            )
    return finished
