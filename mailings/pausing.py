"""A reader pauses a sequence (the workshop) from the preference centre, and resumes it.

Pausing: the enrolment is `paused`, so the tick (`enrolments_advance`, which takes only
active enrolments) writes no step for it. A step whose row is written but not handed
over yet is cancelled, under the hand-over lock, exactly as a sequence's deactivation
cancels its rows (a row being handed over at that moment goes out: it may already
have reached the server), and the reader is put back before it.

Resuming carries on with the next step the reader has not received, keeping the
rhythm: the time that was left before it when they paused is left after they resume
(a step that was already due then comes at once), inside the step's sending window.
The steps after it wait their own delays, so missed lessons never arrive together. A
cancelled row of that step goes back to pending when it comes due (one row per step
and reader, never a second one).
"""

import datetime as dt

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from signups.models import Subscription

from .models import Delivery, Enrolment, Step
from .outbox import handover_lock, in_handover
from .sequences import next_step, rewind

S = Delivery.Status


def _enrolment(contact_id: int, sequence_id: int, status: str) -> Enrolment | None:
    return (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("sequence", "contact")
        .filter(contact_id=contact_id, sequence_id=sequence_id, status=status)
        .first()
    )


@transaction.atomic
def enrolment_pause(*, contact_id: int, sequence_id: int) -> Enrolment | None:
    """Pause a running enrolment that still has steps to come; None when there is none."""
    enrolment = _enrolment(contact_id, sequence_id, Enrolment.Status.ACTIVE)
    if enrolment is None:
        return None
    steps = list(Step.objects.filter(sequence_id=sequence_id).order_by("position"))
    handover_lock(exclusive=True)
    unsent = (
        Delivery.objects.filter(
            step__sequence_id=sequence_id,
            contact_id=contact_id,
            status__in=(S.PENDING, S.CLAIMED),
        )
        .exclude(in_handover())
        .order_by()
    )
    first_unsent = unsent.aggregate(position=Min("step__position"))["position"]
    if next_step(enrolment, steps) is None and first_unsent is None:
        return None  # finished: nothing left to pause
    if first_unsent is not None:
        unsent.update(status=S.CANCELLED, error=_("mis en pause par le lecteur"), lease_until=None)
        if first_unsent <= enrolment.position:
            rewind(enrolment, steps, before=first_unsent)
    enrolment.status = Enrolment.Status.PAUSED
    enrolment.paused_at = timezone.now()
    enrolment.next_due_at = None
    enrolment.save(update_fields=["status", "paused_at", "next_due_at", "position", "last_sent_at"])
    return enrolment


@transaction.atomic
def enrolment_resume(*, contact_id: int, sequence_id: int) -> Enrolment | None:
    """Resume a paused enrolment; None when it is not paused."""
    enrolment = _enrolment(contact_id, sequence_id, Enrolment.Status.PAUSED)
    if enrolment is None:
        return None
    steps = list(Step.objects.filter(sequence_id=sequence_id).order_by("position"))
    now = timezone.now()
    enrolment.next_due_at = resumed_due(enrolment, steps, now=now)
    enrolment.status = Enrolment.Status.ACTIVE
    enrolment.paused_at = None
    enrolment.save(update_fields=["status", "paused_at", "next_due_at"])
    return enrolment


def resumed_due(enrolment: Enrolment, steps: list[Step], *, now: dt.datetime) -> dt.datetime | None:
    """When the next step is due after resuming: as many hours after `now` as were left
    before it when the pause began (none when it was already due), in its window."""
    step = next_step(enrolment, steps)
    if step is None:
        return None
    anchor = enrolment.last_sent_at or enrolment.enrolled_at
    paused_at = enrolment.paused_at or now
    left = max(anchor + step.delay - paused_at, dt.timedelta(0))
    return step.next_send_time(now + left, enrolment.contact.time_zone)


def contact_progress(*, contact_id: int) -> list[dict]:
    """The reader's running or paused sequences, for the preference centre: how many
    steps they received of how many, and what they can do."""
    enrolments = list(
        Enrolment.objects.filter(
            contact_id=contact_id,
            status__in=(Enrolment.Status.ACTIVE, Enrolment.Status.PAUSED),
            subscription__status=Subscription.Status.ACTIVE,
        )
        .select_related("sequence__mailing_list")
        .order_by("sequence__name")
    )
    if not enrolments:
        return []
    positions: dict[int, list[int]] = {}
    for sequence_id, position in Step.objects.filter(
        sequence_id__in={e.sequence_id for e in enrolments}
    ).values_list("sequence_id", "position"):
        positions.setdefault(sequence_id, []).append(position)
    progress = []
    for enrolment in enrolments:
        steps = positions.get(enrolment.sequence_id, [])
        total, sent = len(steps), sum(1 for p in steps if p <= enrolment.position)
        paused = enrolment.status == Enrolment.Status.PAUSED
        progress.append(
            {
                "id": enrolment.sequence_id,
                "name": enrolment.sequence.name,
                "list_slug": enrolment.sequence.mailing_list.slug,
                "sent": sent,
                "total": total,
                "paused": paused,
                "finished": total > 0 and sent >= total,
                "can_pause": not paused and sent < total,
                "next_at": None if paused else enrolment.next_due_at,
            }
        )
    return progress
