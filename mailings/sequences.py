"""Sequences: enrolling readers, advancing them step by step, stopping and resuming.

A due step becomes one Delivery row per reader (unique per step and contact), which
the outbox then sends like any mailing's.
"""

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from signups.models import Subscription, mailable_subscription

from . import recipients
from .chains import outbox_wake
from .models import Delivery, Enrolment, Sequence, Step
from .outbox import handover_lock, in_handover

S = Delivery.Status


def enrolment_start(*, subscription: Subscription) -> list[Enrolment]:
    """Enrol a reader who just confirmed in the list's active sequences."""
    enrolments = []
    now = timezone.now()
    for sequence in Sequence.objects.filter(
        mailing_list_id=subscription.mailing_list_id, is_active=True
    ):
        enrolment, created = Enrolment.objects.get_or_create(
            sequence=sequence,
            contact_id=subscription.contact_id,
            defaults={
                "subscription": subscription,
                "enrolled_at": subscription.confirmed_at or now,
            },
        )
        if not created and enrolment.status == Enrolment.Status.STOPPED:
            # Back after unsubscribing: carry on where they left off, from now.
            enrolment.status = Enrolment.Status.ACTIVE
            enrolment.subscription = subscription
            enrolment.stopped_at = None
            enrolment.stop_reason = ""
            enrolment.last_sent_at = now if enrolment.position else None
            enrolment.enrolled_at = now
        if enrolment.status != Enrolment.Status.PAUSED:  # paused: due once resumed
            steps = list(Step.objects.filter(sequence_id=sequence.pk).order_by("position"))
            enrolment.next_due_at = next_due(enrolment, steps)
        enrolment.save()
        enrolments.append(enrolment)
    return enrolments


def enrolments_stop(
    *,
    contact_id: int | None = None,
    contact_ids=(),
    reason: Enrolment.StopReason,
    mailing_list_id: int | None = None,
) -> int:
    """Stop a reader's enrolments, or several readers' (in every sequence, or in one
    list's) for `reason`. Those a deactivation had already stopped take the new reason
    too, so that reactivating the sequence does not resume them. Returns how many were
    running."""
    ids = [contact_id] if contact_id is not None else list(contact_ids)
    enrolments = Enrolment.objects.filter(contact_id__in=ids)
    if mailing_list_id is not None:
        enrolments = enrolments.filter(sequence__mailing_list_id=mailing_list_id)
    enrolments.stopped_by_deactivation().update(stop_reason=reason)
    # A paused enrolment stops too: coming back after leaving resumes it like any other.
    running = enrolments.filter(status__in=(Enrolment.Status.ACTIVE, Enrolment.Status.PAUSED))
    return running.update(
        status=Enrolment.Status.STOPPED,
        stop_reason=reason,
        stopped_at=timezone.now(),
        next_due_at=None,
        paused_at=None,
    )


def deliveries_cancel_pending(
    *,
    contact_id: int | None = None,
    contact_ids=(),
    subscription_id: int | None = None,
    reason: str,
) -> int:
    ids = [contact_id] if contact_id is not None else list(contact_ids)
    pending = Delivery.objects.filter(contact_id__in=ids, status=S.PENDING)
    if subscription_id is not None:
        pending = pending.filter(subscription_id=subscription_id)
    return pending.update(status=S.SKIPPED, error=reason)


@transaction.atomic
def sequence_deactivate(*, sequence: Sequence) -> int:
    """Stop a sequence at once: nobody is enrolled any more, the enrolments stop and the
    step deliveries not yet handed over are cancelled (those being handed over right
    now stay as they are, as when cancelling a mailing). Returns how many were cancelled."""
    Sequence.objects.filter(pk=sequence.pk).update(is_active=False)
    sequence.is_active = False
    sequence.enrolments.active().update(
        status=Enrolment.Status.STOPPED,
        stop_reason=Enrolment.StopReason.DEACTIVATED,
        stopped_at=timezone.now(),
        next_due_at=None,
    )
    handover_lock(exclusive=True)
    return (
        Delivery.objects.filter(step__sequence=sequence, status__in=(S.PENDING, S.CLAIMED))
        .exclude(in_handover())
        .update(status=S.CANCELLED, error=_("séquence désactivée"))
    )


@transaction.atomic
def sequence_activate(*, sequence: Sequence) -> int:
    """Start a sequence again after its deactivation. Readers who confirm are enrolled
    again, and the enrolments the deactivation stopped resume: each reader gets the next
    step they have not received, after its delay and inside its window, counted from
    now when that time has passed. A step whose delivery the deactivation cancelled is
    that next step again (its row goes back to pending when it comes due: never a
    second row). Enrolments stopped for another reason (unsubscribed, suppressed,
    erased) stay stopped. Returns how many readers resumed."""
    Sequence.objects.filter(pk=sequence.pk).update(is_active=True)
    sequence.is_active = True
    now = timezone.now()
    steps = list(sequence.steps.order_by("position"))
    resuming = sequence.enrolments.stopped_by_deactivation().filter(
        mailable_subscription("subscription__")
    )
    # Step deliveries are cancelled by their sequence's deactivation, or by a reader's
    # pause (whose enrolment was put back before them then: no rewind here).
    first_cancelled = dict(
        Delivery.objects.filter(
            step__sequence=sequence,
            status=S.CANCELLED,
            contact_id__in=resuming.values("contact_id"),
        )
        .values("contact_id")
        .annotate(position=Min("step__position"))
        .values_list("contact_id", "position")
    )
    fields = ["status", "stop_reason", "stopped_at", "position", "last_sent_at", "next_due_at"]
    resumed, changed = 0, []
    enrolments = resuming.select_for_update(of=("self",)).select_related("contact").order_by("pk")
    for enrolment in enrolments.iterator(chunk_size=2000):
        position = first_cancelled.get(enrolment.contact_id)
        if position is not None and position <= enrolment.position:
            rewind(enrolment, steps, before=position)
        enrolment.status = Enrolment.Status.ACTIVE
        enrolment.stop_reason = ""
        enrolment.stopped_at = None
        enrolment.next_due_at = next_due(enrolment, steps, now=now)
        changed.append(enrolment)
        resumed += 1
        if len(changed) >= 2000:
            Enrolment.objects.bulk_update(changed, fields)
            changed = []
    Enrolment.objects.bulk_update(changed, fields)
    return resumed


def rewind(enrolment: Enrolment, steps: list[Step], *, before: int) -> None:
    """Put the reader back before the step at position `before`, which they did not
    receive: their last step is the one before it, sent when its delivery was written."""
    enrolment.position = max((s.position for s in steps if s.position < before), default=0)
    enrolment.last_sent_at = (
        Delivery.objects.filter(
            step__sequence_id=enrolment.sequence_id,
            step__position__lt=before,
            contact_id=enrolment.contact_id,
        )
        .exclude(status=S.CANCELLED)
        .aggregate(last=Max("created_at"))["last"]
    )


def sequence_reschedule(*, sequence: Sequence) -> int:
    """After steps were added, removed or edited: recompute who is due when (from now
    on: a time that has passed becomes the next moment inside the step's window)."""
    steps = list(sequence.steps.order_by("position"))
    now = timezone.now()
    changed = []
    enrolments = sequence.enrolments.active().select_related("contact").order_by("pk")
    for enrolment in enrolments.iterator(chunk_size=2000):
        enrolment.next_due_at = next_due(enrolment, steps, now=now)
        changed.append(enrolment)
        if len(changed) >= 2000:
            Enrolment.objects.bulk_update(changed, ["next_due_at"])
            changed = []
    Enrolment.objects.bulk_update(changed, ["next_due_at"])
    return sequence.enrolments.active().count()


def next_step(enrolment: Enrolment, steps: list[Step]) -> Step | None:
    """The reader's next step (`steps` in order), or None when they had them all."""
    return next((step for step in steps if step.position > enrolment.position), None)


def next_due(
    enrolment: Enrolment, steps: list[Step], *, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When the reader's next step is due, in its window. With `now`, a due time that
    has passed (a stopped sequence, a late reschedule) counts from now, so the window
    still applies."""
    step = next_step(enrolment, steps)
    if step is None:
        return None
    anchor = enrolment.last_sent_at or enrolment.enrolled_at
    due = anchor + step.delay
    if now is not None and due < now:
        due = now
    return step.next_send_time(due, enrolment.contact.time_zone)


def enrolments_advance(*, now: dt.datetime | None = None, limit: int = 2000) -> int:
    """Tick handler: write the deliveries of every step that has come due."""
    now = now or timezone.now()
    steps_by_sequence: dict[int, list[Step]] = {}
    deliveries = []
    with transaction.atomic():
        due = list(
            Enrolment.objects.due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("contact", "subscription", "sequence")
            .order_by("next_due_at")[:limit]
        )
        for enrolment in due:
            contact, subscription = enrolment.contact, enrolment.subscription
            if reason := recipients.skip_reason(recipients.enrolment_row(enrolment)):
                enrolment.status = Enrolment.Status.STOPPED
                enrolment.stop_reason = reason
                enrolment.stopped_at = now
                enrolment.next_due_at = None
                continue
            if enrolment.sequence_id not in steps_by_sequence:
                steps_by_sequence[enrolment.sequence_id] = list(
                    Step.objects.filter(sequence_id=enrolment.sequence_id).order_by("position")
                )
            steps = steps_by_sequence[enrolment.sequence_id]
            step = next_step(enrolment, steps)
            when = next_due(enrolment, steps)
            if step is None or when > now:  # steps changed since next_due_at was set
                enrolment.next_due_at = when
                continue
            deliveries.append(
                Delivery(step=step, contact=contact, subscription=subscription, created_at=now)
            )
            enrolment.position = step.position
            enrolment.last_sent_at = now
            enrolment.next_due_at = next_due(enrolment, steps)
        Enrolment.objects.bulk_update(
            due,
            ["status", "stop_reason", "stopped_at", "position", "last_sent_at", "next_due_at"],
        )
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        _deliveries_resend_cancelled(deliveries, now=now)
        if deliveries:
            transaction.on_commit(outbox_wake)
    return len(deliveries)


def _deliveries_resend_cancelled(deliveries: list[Delivery], *, now: dt.datetime) -> int:
    """The step rows just written that already existed, cancelled by a deactivation of
    the sequence since reactivated, go back to pending: the row is unique per step and
    contact, so the insert above left them as they were. Rows in any other state
    (sent, skipped…) are left alone: a step never goes out twice."""
    contacts_by_step = defaultdict(list)
    for delivery in deliveries:
        contacts_by_step[delivery.step_id].append(delivery.contact_id)
    if not contacts_by_step:
        return 0
    rows = Q()
    for step_id, contact_ids in contacts_by_step.items():
        rows |= Q(step_id=step_id, contact_id__in=contact_ids)
    return Delivery.objects.filter(rows, status=S.CANCELLED).update(
        status=S.PENDING,
        error="",
        not_before=None,
        created_at=now,
        claimed_at=None,
        claimed_by="",
        lease_until=None,
        attempts=0,
    )
