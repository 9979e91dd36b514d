"""Writes with side effects: scheduling, dispatching, sending, enrolling (ESP events: events.py).

The outbox rules (see the README's Mailings section):
- one Delivery row per (message, contact), unique; rows are written set-based;
- a batch claims rows with SELECT … FOR UPDATE SKIP LOCKED (status `claimed`,
  a lease and the worker's id) in one statement; before handing a chunk over it
  commits one `Handover` journal row for the chunk, sends outside any transaction,
  then records the outcomes and deletes the journal row in one statement: each
  delivery row is written twice (claimed, sent), not once per step;
- the tick turns claimed rows covered by a hand-over whose lease expired into
  `unknown` (they may have gone out: shown to the editor, never resent) and puts
  other claimed rows with an expired lease back to `pending` (never handed over).
  Opening a hand-over and the tick's recovery serialise on an advisory lock, so a
  row is never both released and handed over.
"""

import datetime as dt
import logging
import os
import re
import smtplib
import socket
import time
import uuid
from collections import defaultdict
from email.utils import formatdate, parseaddr

from django.conf import settings
from django.core.cache import cache
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Exists, F, Max, Min, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from signups.models import Contact, Subscription

from . import abtest, esp, rendering
from .models import Delivery, Enrolment, Handover, Mailing, Sequence, Step, Variant

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "mailings:outbox:heartbeat"
S = Delivery.Status
# pg_advisory lock taken shared by workers opening a hand-over, exclusive by whoever
# changes claimed rows behind a worker's back (the tick's recovery, cancelling).
HANDOVER_LOCK = 0x706F756C73  # "pouls"


def _handover_lock(*, exclusive: bool) -> None:
    """Inside a transaction. SQLite serialises writers by itself."""
    if db_connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [HANDOVER_LOCK])


def _in_handover(*, expired_at=None):
    """Delivery rows covered by an open hand-over of the worker that claimed them."""
    entries = Handover.objects.filter(
        worker=OuterRef("claimed_by"), first_id__lte=OuterRef("pk"), last_id__gte=OuterRef("pk")
    )
    if expired_at is not None:
        entries = entries.filter(lease_until__lt=expired_at)
    return Exists(entries)


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- mailings: schedule, cancel, dispatch ------------------------------------


class ScheduleError(ValueError):
    """A mailing that cannot be scheduled as it is; the message is for the editor."""


@transaction.atomic
def mailing_schedule(*, mailing: Mailing) -> Mailing:
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if not mailing.is_editable:
        raise ScheduleError(
            _("Ce mailing est déjà parti ou annulé : il ne peut plus être programmé.")
        )
    if not (mailing.send_date and mailing.send_time):
        raise ScheduleError(_("Indiquez la date et l’heure d’envoi avant de programmer."))
    if not mailing.lists.exists():
        raise ScheduleError(_("Choisissez au moins une liste de destinataires."))
    mailing.scheduled_at = mailing.send_at()
    mailing.status = Mailing.Status.SCHEDULED
    mailing.save(update_fields=["scheduled_at", "status", "updated_at"])
    return mailing


@transaction.atomic
def mailing_unschedule(*, mailing: Mailing) -> Mailing:
    """Back to draft, before dispatch; nothing was written for recipients yet."""
    updated = Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SCHEDULED).update(
        status=Mailing.Status.DRAFT, scheduled_at=None
    )
    if not updated:
        raise ScheduleError(_("Ce mailing n’est pas programmé."))
    return Mailing.objects.get(pk=mailing.pk)


@transaction.atomic
def mailing_cancel(*, mailing: Mailing) -> int:
    """Cancel before or during sending. Rows already handed over stay as they are.

    Returns how many deliveries were cancelled."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status in (Mailing.Status.SENT, Mailing.Status.CANCELLED):
        raise ScheduleError(_("Ce mailing est terminé : il n’y a plus rien à annuler."))
    mailing.status = Mailing.Status.CANCELLED
    mailing.cancelled_at = timezone.now()
    mailing.save(update_fields=["status", "cancelled_at", "updated_at"])
    _handover_lock(exclusive=True)  # rows being handed over right now stay as they are
    return (
        mailing.deliveries.filter(status__in=(S.PENDING, S.CLAIMED, S.PAUSED))
        .exclude(_in_handover())
        .update(status=S.CANCELLED, error=_("annulé par l’éditeur"))
    )


def _insert_select(queryset, columns: str, params_before: list, *, skip_existing: bool) -> int:
    """INSERT INTO delivery (...) SELECT <constants>, <queryset columns> [ON CONFLICT DO NOTHING].

    The first dispatch of a mailing inserts plainly (the unique constraint still refuses
    any duplicate, failing the whole transaction); ON CONFLICT's speculative insertion
    costs about twice as much per row and is only needed if rows already exist."""
    sql, params = queryset.query.sql_with_params()
    table = Delivery._meta.db_table
    # Only the table name and our own column list are interpolated; values are parameters.
    constants = ", ".join(["%s"] * len(params_before))
    statement = (
        f"INSERT INTO {table} ({columns}) SELECT {constants}, "  # noqa: S608
        f"r.contact_id, r.subscription_id FROM ({sql}) AS r"
    )
    if skip_existing:
        statement += " WHERE true ON CONFLICT DO NOTHING"
    with db_connection.cursor() as cursor:
        cursor.execute(statement, [*params_before, *params])
        return cursor.rowcount


def mailing_dispatch(*, mailing_id: int, chunk: int = 100_000) -> int:
    """Write one delivery row per recipient, set-based, then queue the sending.

    Recipients are taken in contact-id ranges (keyset), each range one
    INSERT … SELECT: nothing about them passes through Python. The whole dispatch
    is one transaction, so a crash leaves the mailing scheduled for the next tick;
    two ticks never dispatch the same mailing (the row is locked, SKIP LOCKED)."""
    written = 0
    with transaction.atomic():
        mailing = (
            Mailing.objects.select_for_update(skip_locked=True)
            .filter(pk=mailing_id, status=Mailing.Status.SCHEDULED)
            .first()
        )
        if mailing is None:
            return 0
        now = timezone.now()
        audience = mailing.audience()
        bounds = audience.aggregate(low=Min("contact_id"))
        high = audience.order_by("-contact_id").values_list("contact_id", flat=True).first()
        zones = [None]
        if mailing.local_time:
            zones = list(
                audience.values_list("contact__time_zone", flat=True).distinct().order_by()
            )
        columns = "mailing_id, not_before, created_at, contact_id, subscription_id"
        skip_existing = mailing.deliveries.exists()
        if mailing.ab_winner_id is None and abtest.is_ab(mailing):
            # An A/B test: only its share now; the tick sends the winner to the rest.
            if not skip_existing:
                written = abtest.insert_test_rows(mailing=mailing, audience=audience, now=now)
        elif bounds["low"] is not None:
            for time_zone in zones:
                not_before = mailing.local_send_at(time_zone) if time_zone else None
                low = bounds["low"] - 1
                while low < high:
                    recipients = audience.filter(contact_id__gt=low, contact_id__lte=low + chunk)
                    if time_zone:
                        recipients = recipients.filter(contact__time_zone=time_zone)
                    recipients = (
                        recipients.values("contact_id")
                        .annotate(subscription_id=Min("id"))
                        .order_by("contact_id")  # sorted inserts keep the indexes warm
                    )
                    written += _insert_select(
                        recipients,
                        columns,
                        [mailing.pk, not_before, now],
                        skip_existing=skip_existing,
                    )
                    low += chunk
        mailing.status = Mailing.Status.SENDING
        mailing.dispatched_at = now
        mailing.recipient_count = mailing.deliveries.count() if skip_existing else written
        mailing.save(update_fields=["status", "dispatched_at", "recipient_count", "updated_at"])
        if written > 10_000 and db_connection.vendor == "postgresql":
            # Fresh statistics before the workers' first claim: with the table's old
            # ones the planner scans every delivery row to find a batch's 1,000.
            with db_connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Delivery._meta.db_table}")
        transaction.on_commit(outbox_wake)
    logger.info("mailing %s dispatched: %s deliveries", mailing_id, written)
    return written


def mailings_dispatch_due() -> int:
    """Tick handler: queue the dispatch of every mailing whose time has come."""
    from .tasks import dispatch_mailing

    due = list(Mailing.objects.due().values_list("pk", flat=True))
    for pk in due:
        dispatch_mailing.delay_on_commit(pk)
    return len(due)


def mailings_finish() -> int:
    """Mark sending mailings with nothing left in flight as sent."""
    finished = 0
    busy = (S.PENDING, S.CLAIMED, S.SENDING)  # sending: rows of earlier versions
    # An A/B test whose winner is not chosen yet is not over: the rest waits for it.
    waiting = Exists(Variant.objects.filter(mailing=OuterRef("pk"))) & Q(ab_winner__isnull=True)
    for mailing in Mailing.objects.filter(status=Mailing.Status.SENDING).exclude(waiting):
        if not mailing.deliveries.filter(status__in=busy).exists():
            finished += Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SENDING).update(
                status=Mailing.Status.SENT,
                finished_at=timezone.now(),
                final_progress=mailing.progress(),
            )
    return finished


# --- sequences ---------------------------------------------------------------


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
        enrolment.next_due_at = enrolment.compute_next_due()
        enrolment.save()
        enrolments.append(enrolment)
    return enrolments


def enrolments_stop(
    *, contact_id: int, reason: Enrolment.StopReason, mailing_list_id: int | None = None
) -> int:
    """Stop a reader's enrolments (in every sequence, or in one list's) for `reason`.
    Those a deactivation had already stopped take the new reason too, so that
    reactivating the sequence does not resume them. Returns how many were running."""
    enrolments = Enrolment.objects.filter(contact_id=contact_id)
    if mailing_list_id is not None:
        enrolments = enrolments.filter(sequence__mailing_list_id=mailing_list_id)
    enrolments.stopped_by_deactivation().update(stop_reason=reason)
    return enrolments.active().update(
        status=Enrolment.Status.STOPPED,
        stop_reason=reason,
        stopped_at=timezone.now(),
        next_due_at=None,
    )


def deliveries_cancel_pending(
    *, contact_id: int, subscription_id: int | None = None, reason: str
) -> int:
    pending = Delivery.objects.filter(contact_id=contact_id, status=S.PENDING)
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
    _handover_lock(exclusive=True)
    return (
        Delivery.objects.filter(step__sequence=sequence, status__in=(S.PENDING, S.CLAIMED))
        .exclude(_in_handover())
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
    resuming = (
        sequence.enrolments.stopped_by_deactivation()
        .filter(
            subscription__status=Subscription.Status.ACTIVE,
            contact__suppressed_at__isnull=True,
            contact__erased_at__isnull=True,
            contact__email__isnull=False,
        )
        .exclude(contact__email="")
    )
    # Step deliveries are only ever cancelled by their sequence's deactivation.
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
            _rewind(enrolment, steps, before=position)
        enrolment.status = Enrolment.Status.ACTIVE
        enrolment.stop_reason = ""
        enrolment.stopped_at = None
        enrolment.next_due_at = _next_due(enrolment, steps, now=now)
        changed.append(enrolment)
        resumed += 1
        if len(changed) >= 2000:
            Enrolment.objects.bulk_update(changed, fields)
            changed = []
    Enrolment.objects.bulk_update(changed, fields)
    return resumed


def _rewind(enrolment: Enrolment, steps: list[Step], *, before: int) -> None:
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
        enrolment.next_due_at = _next_due(enrolment, steps, now=now)
        changed.append(enrolment)
        if len(changed) >= 2000:
            Enrolment.objects.bulk_update(changed, ["next_due_at"])
            changed = []
    Enrolment.objects.bulk_update(changed, ["next_due_at"])
    return sequence.enrolments.active().count()


def _next_step(enrolment: Enrolment, steps: list[Step]) -> Step | None:
    return next((step for step in steps if step.position > enrolment.position), None)


def _next_due(
    enrolment: Enrolment, steps: list[Step], *, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When the reader's next step is due, in its window. With `now`, a due time that
    has passed (a stopped sequence, a late reschedule) counts from now, so the window
    still applies."""
    step = _next_step(enrolment, steps)
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
            if reason := _stop_reason(enrolment):
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
            step = _next_step(enrolment, steps)
            when = _next_due(enrolment, steps)
            if step is None or when > now:  # steps changed since next_due_at was set
                enrolment.next_due_at = when
                continue
            deliveries.append(
                Delivery(step=step, contact=contact, subscription=subscription, created_at=now)
            )
            enrolment.position = step.position
            enrolment.last_sent_at = now
            enrolment.next_due_at = _next_due(enrolment, steps)
        Enrolment.objects.bulk_update(
            due,
            ["status", "stop_reason", "stopped_at", "position", "last_sent_at", "next_due_at"],
        )
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
        _deliveries_resend_cancelled(deliveries, now=now)
        if deliveries:
            transaction.on_commit(outbox_wake)
    return len(deliveries)


def _stop_reason(enrolment: Enrolment) -> str:
    """Why a due enrolment must stop now, or "" when its next step may go out."""
    contact = enrolment.contact
    if not contact.email or contact.erased_at:
        return Enrolment.StopReason.ERASED
    if contact.suppressed_at:
        return Enrolment.StopReason.SUPPRESSED
    if enrolment.subscription.status != Subscription.Status.ACTIVE:
        return Enrolment.StopReason.UNSUBSCRIBED
    if not enrolment.sequence.is_active:
        return Enrolment.StopReason.DEACTIVATED
    return ""


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


# --- the outbox: claim, send, record -------------------------------------------


def outbox_wake(batches: int | None = None) -> None:
    """Queue the batch tasks that drain the outbox (each re-queues itself while work remains)."""
    from .tasks import send_batch

    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
    for _i in range(batches or _setting("MAIL_PARALLEL_BATCHES", 4)):
        send_batch.delay()


def outbox_recover(*, now: dt.datetime | None = None) -> dict:
    """Tick handler: expired leases, finished mailings, lost queue messages."""
    now = now or timezone.now()
    expired = Q(lease_until__lt=now)
    with transaction.atomic():
        _handover_lock(exclusive=True)
        # Handed over by a worker that died before recording the outcome: maybe sent.
        maybe_sent = {
            "status": S.UNKNOWN,
            "lease_until": None,
            "error": _(
                "Le worker s’est arrêté pendant l’envoi : ce message est peut-être parti. Il n’est pas renvoyé automatiquement."
            ),
        }
        unknown = (
            Delivery.objects.filter(status=S.CLAIMED)
            .filter(_in_handover(expired_at=now))
            .update(**maybe_sent)
        )
        # Rows marked `sending` one by one by earlier versions.
        unknown += Delivery.objects.filter(expired, status=S.SENDING).update(**maybe_sent)
        never_handed_over = Delivery.objects.filter(expired, status=S.CLAIMED).exclude(
            _in_handover()
        )
        # Claimed again and again by workers that never got to send them (a crash loop):
        # stop and show them to the editor rather than retry forever.
        given_up = never_handed_over.filter(attempts__gte=_setting("MAIL_MAX_ATTEMPTS", 5)).update(
            status=S.FAILED,
            error=_("Abandon : le worker s’est arrêté à chaque tentative avant l’envoi."),
        )
        released = never_handed_over.update(
            status=S.PENDING, claimed_by="", claimed_at=None, lease_until=None
        )
        Handover.objects.filter(lease_until__lt=now).delete()
    finished = mailings_finish()
    requeued = False
    beat = cache.get(HEARTBEAT_KEY)
    stale = beat is None or time.time() - beat > _setting("MAIL_REQUEUE_AFTER", 60)
    if stale and Delivery.objects.sendable_now(now).exists():
        # Redis lost the batch messages (flushed, restarted), or every worker died.
        outbox_wake()
        requeued = True
    return {
        "released": released,
        "given_up": given_up,
        "unknown": unknown,
        "finished": finished,
        "requeued": requeued,
    }


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease_until() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=_setting("MAIL_LEASE_SECONDS", 300))


CLAIM_FIELDS = (
    "id",
    "mailing_id",
    "step_id",
    "attempts",
    "contact_id",
    "subscription_id",
    "variant_id",
)


def outbox_claim(*, worker: str, size: int) -> list[int]:
    return [row["id"] for row in _claim(worker=worker, size=size)]


# What a batch reads about each claimed row's contact, subscription, list and message.
RECIPIENT_FIELDS = (
    "contact__email",
    "contact__first_name",
    "contact__language",
    "contact__suppressed_at",
    "contact__erased_at",
    "subscription__status",
    "subscription__mailing_list__slug",
    "subscription__mailing_list__name",
    "mailing__status",
    "step__sequence__is_active",
)
# (The two dates come as « is set »: all a batch asks of them, and cheaper to read.)
# Each lookup is a LATERAL subquery (OFFSET 0 keeps the planner from flattening it):
# one primary-key probe per claimed row, never a hash of a whole table. Only our own
# table names are interpolated.
_RECIPIENTS_SQL = """
SELECT claimed.*, c.email, c.first_name, c.language, c.suppressed_at, c.erased_at,
       s.status, s.slug, s.name, m.status, coalesce(q.is_active, true)
FROM claimed
LEFT JOIN LATERAL (SELECT email, first_name, language, suppressed_at IS NOT NULL AS suppressed_at,
                          erased_at IS NOT NULL AS erased_at
                   FROM {contact} WHERE id = claimed.contact_id OFFSET 0) c ON true
LEFT JOIN LATERAL (SELECT sub.status, l.slug, l.name FROM {subscription} sub
                   JOIN {mailing_list} l ON l.id = sub.mailing_list_id
                   WHERE sub.id = claimed.subscription_id OFFSET 0) s ON true
LEFT JOIN LATERAL (SELECT status FROM {mailing}
                   WHERE id = claimed.mailing_id OFFSET 0) m ON true
LEFT JOIN LATERAL (SELECT seq.is_active FROM {step} st
                   JOIN {sequence} seq ON seq.id = st.sequence_id
                   WHERE st.id = claimed.step_id OFFSET 0) q ON true
ORDER BY claimed.id
""".format(  # noqa: S608
    contact=Contact._meta.db_table,
    subscription=Subscription._meta.db_table,
    mailing_list=Subscription._meta.get_field("mailing_list").related_model._meta.db_table,
    mailing=Mailing._meta.db_table,
    step=Step._meta.db_table,
    sequence=Sequence._meta.db_table,
)


def _claim(*, worker: str, size: int, recipients: bool = False) -> list[dict]:
    """Claim up to `size` sendable rows in id order: one statement on PostgreSQL
    (UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …). With
    `recipients`, each row also holds RECIPIENT_FIELDS (None for a vanished contact
    or subscription): on PostgreSQL read by the same statement."""
    now = timezone.now()
    sendable = (
        Delivery.objects.sendable_now(now)
        .select_for_update(skip_locked=True)
        .order_by("id")
        .values_list("id", flat=True)[:size]
    )
    changes = {
        "status": S.CLAIMED,
        "claimed_by": worker,
        "claimed_at": now,
        "lease_until": _lease_until(),
    }
    if db_connection.vendor != "postgresql":
        with transaction.atomic():
            ids = list(sendable)
            Delivery.objects.filter(id__in=ids).update(attempts=F("attempts") + 1, **changes)
            rows = list(Delivery.objects.filter(id__in=ids).order_by("id").values(*CLAIM_FIELDS))
        return _with_recipients(rows) if recipients else rows
    table = Delivery._meta.db_table
    assignments = ", ".join(f"{name} = %s" for name in changes)
    fields = CLAIM_FIELDS + RECIPIENT_FIELDS if recipients else CLAIM_FIELDS
    with transaction.atomic(), db_connection.cursor() as cursor:
        select, select_params = sendable.query.sql_with_params()
        # Only our own table and column names are interpolated; values are parameters.
        # `= ANY(ARRAY(…))`: the locked ids first, then one primary-key probe each (with
        # `IN (…)` the planner may scan the whole outbox to hash-join them).
        statement = (
            f"UPDATE {table} SET attempts = attempts + 1, {assignments} "  # noqa: S608
            f"WHERE id = ANY(ARRAY({select})) RETURNING {', '.join(CLAIM_FIELDS)}"
        )
        if recipients:
            statement = f"WITH claimed AS ({statement}) {_RECIPIENTS_SQL}"
        _asynchronous_commit(cursor)
        # Its cost estimate crosses PostgreSQL's JIT threshold; compiling the plan costs
        # more than running it, every time.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(statement, [*changes.values(), *select_params])
        rows = [dict(zip(fields, row, strict=True)) for row in cursor.fetchall()]
    if recipients:
        chrome = {}
        for row in rows:
            language = row["contact__language"]
            if language not in chrome:
                chrome[language] = rendering.chrome_language(language)
            row["contact__language"] = chrome[language]
        return rows
    return sorted(rows, key=lambda row: row["id"])


def _asynchronous_commit(cursor) -> None:
    """This transaction's commit does not wait for the disk. Safe for the claim and for
    recording outcomes: a PostgreSQL crash can only lose them together with what
    followed, and the hand-over journal (committed synchronously, which flushes all
    earlier commits) still says which rows may have gone out: they become unknown,
    never sent twice."""
    cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _with_recipients(rows: list[dict]) -> list[dict]:
    """Add RECIPIENT_FIELDS to each claimed row (None for a vanished contact or
    subscription), one primary-key lookup per table: the portable twin of the
    PostgreSQL claim statement's LATERAL lookups."""
    contacts = {
        c["id"]: c
        for c in Contact.objects.filter(id__in={row["contact_id"] for row in rows}).values(
            "id", "email", "first_name", "suppressed_at", "erased_at", "language"
        )
    }
    subscriptions = {
        s["id"]: s
        for s in Subscription.objects.filter(
            id__in={row["subscription_id"] for row in rows}
        ).values("id", "status", "mailing_list__slug", "mailing_list__name")
    }
    mailings = dict(
        Mailing.objects.filter(
            id__in={row["mailing_id"] for row in rows if row["mailing_id"]}
        ).values_list("id", "status")
    )
    active_steps = dict(
        Step.objects.filter(id__in={row["step_id"] for row in rows if row["step_id"]}).values_list(
            "id", "sequence__is_active"
        )
    )
    for row in rows:
        contact = contacts.get(row["contact_id"], {})
        subscription = subscriptions.get(row["subscription_id"], {})
        row.update(
            {
                "contact__email": contact.get("email"),
                "contact__first_name": contact.get("first_name"),
                "contact__language": rendering.chrome_language(contact.get("language")),
                "contact__suppressed_at": contact.get("suppressed_at"),
                "contact__erased_at": contact.get("erased_at"),
                "subscription__status": subscription.get("status"),
                "subscription__mailing_list__slug": subscription.get("mailing_list__slug"),
                "subscription__mailing_list__name": subscription.get("mailing_list__name"),
                "mailing__status": mailings.get(row["mailing_id"]),
                "step__sequence__is_active": active_steps.get(row["step_id"], True),
            }
        )
    return rows


def _skip_reason(row: dict) -> str:
    if not row.get("step__sequence__is_active", True):
        return _("séquence désactivée depuis la préparation de l’envoi")
    if not row["contact__email"] or row["contact__erased_at"]:
        return _("contact effacé")
    if row["contact__suppressed_at"]:
        return _("contact bloqué depuis la préparation de l’envoi")
    if row["subscription__status"] != Subscription.Status.ACTIVE:
        return _("désinscrit·e depuis la préparation de l’envoi")
    return ""


def _messages(rows) -> dict:
    """Each message rendered once per language present in the batch (its chrome is in
    the reader's language), keyed like `_key`."""
    mailing_ids = {row["mailing_id"] for row in rows if row["mailing_id"]}
    step_ids = {row["step_id"] for row in rows if row["step_id"]}
    objects = {m.message_key: m for m in Mailing.objects.filter(pk__in=mailing_ids)}
    objects.update({s.message_key: s for s in Step.objects.filter(pk__in=step_ids)})
    variant_ids = {row["variant_id"] for row in rows if row.get("variant_id")}
    for variant in Variant.objects.filter(pk__in=variant_ids).select_related("mailing"):
        # An A/B test's subject: the same mailing under its own subject.
        objects[f"mailing-{variant.mailing_id}:{variant.pk}"] = abtest.variant_message(
            variant.mailing, variant
        )
    return {
        (key, language): rendering.render_message(objects[key], language)
        for key, language in {_key(row) for row in rows}
        if key in objects
    }


def _key(row) -> tuple[str, str]:
    """(message key, chrome language) of a claimed row: which rendering it receives."""
    message = f"mailing-{row['mailing_id']}" if row["mailing_id"] else f"step-{row['step_id']}"
    if row.get("variant_id"):
        message += f":{row['variant_id']}"
    return message, row.get("contact__language") or settings.LANGUAGE_CODE


def outbox_send_batch(*, size: int | None = None) -> int:
    """Claim up to `size` sendable rows, send them, record the outcomes. Returns rows claimed."""
    worker = _worker_id()
    size = size or _setting("MAIL_BATCH_SIZE", 500)
    claimed = _claim(worker=worker, size=size, recipients=True)
    if not claimed:
        mailings_finish()  # the last batch to find the outbox empty closes the mailing
        return 0
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
    ids = [row["id"] for row in claimed]
    rows = [  # a contact or subscription row deleted under us: never sent
        row
        for row in claimed
        if row["contact__email"] is not None and row["subscription__status"] is not None
    ]
    if len(rows) < len(ids):  # the contact or subscription row was deleted under us
        Delivery.objects.filter(
            id__in=set(ids) - {row["id"] for row in rows}, claimed_by=worker, status=S.CLAIMED
        ).update(status=S.FAILED, error=_("contact ou abonnement supprimé"))
    # Before sending: whoever left since the rows were written is skipped, and recorded.
    skipped = defaultdict(list)
    cancelled = []
    paused = []
    sendable = []
    for row in rows:
        if row["mailing__status"] == Mailing.Status.CANCELLED:
            cancelled.append(row["id"])
        elif row["mailing__status"] == Mailing.Status.PAUSED:
            paused.append(row["id"])  # released by the tick after the pause began
        elif reason := _skip_reason(row):
            skipped[reason].append(row["id"])
        else:
            sendable.append(row)
    for reason, skip_ids in skipped.items():
        Delivery.objects.filter(id__in=skip_ids, claimed_by=worker, status=S.CLAIMED).update(
            status=S.SKIPPED, error=reason
        )
    if cancelled:
        Delivery.objects.filter(id__in=cancelled, claimed_by=worker, status=S.CLAIMED).update(
            status=S.CANCELLED, error=_("annulé par l’éditeur")
        )
    if paused:
        Delivery.objects.filter(id__in=paused, claimed_by=worker, status=S.CLAIMED).update(
            status=S.PAUSED
        )
    if sendable:
        _send_rows(sendable, worker=worker)
    return len(ids)


def _chunks(rows, size):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _chunk_size() -> int:
    size = _setting("MAIL_CHUNK_SIZE", 100)
    rate = _setting("MAIL_SEND_RATE", 0)
    if rate:
        size = max(1, min(size, int(rate)))
    return size


def throttle(count: int) -> None:
    """A token bucket per ESP shared by every worker through the cache (Redis in
    production): at most MAIL_SEND_RATE messages per second for this backend."""
    rate = _setting("MAIL_SEND_RATE", 0)
    if not rate:
        return
    while True:
        now = time.time()
        key = f"mailings:rate:{settings.EMAIL_BACKEND}:{int(now)}"
        cache.add(key, 0, timeout=10)
        try:
            used = cache.incr(key, count)
        except ValueError:  # the key expired between add and incr
            continue
        if used <= rate or used == count:
            return
        time.sleep(max(0.0, int(now) + 1 - now))


def _handover_open(chunk, worker) -> tuple[list, int | None]:
    """Just before handing over: commit the journal row of this chunk (the point after
    which a crash means unknown). Only the rows still claimed by this worker go out:
    cancelled meanwhile, or released by the tick after a stall, they are not ours."""
    with transaction.atomic():
        _handover_lock(exclusive=False)
        lost = set(  # usually none: only they are read, not the whole chunk
            Delivery.objects.filter(id__gte=chunk[0]["id"], id__lte=chunk[-1]["id"])
            .exclude(claimed_by=worker, status=S.CLAIMED)
            .values_list("id", flat=True)
        )
        chunk = [row for row in chunk if row["id"] not in lost]
        if not chunk:
            return [], None
        handover = Handover.objects.create(
            worker=worker,
            first_id=chunk[0]["id"],
            last_id=chunk[-1]["id"],
            lease_until=_lease_until(),
        )
    return chunk, handover.pk


class Outcomes:
    """What happened to each row of a chunk, recorded in a few queries."""

    def __init__(self, handover: int | None = None):
        self.handover = handover
        self.sent: list[tuple[int, str]] = []
        self.failed: list[tuple[int, str]] = []
        self.retry: list[tuple[int, int, str]] = []
        self.unknown: list[tuple[int, str]] = []
        self.untouched: list[int] = []

    def record(self, worker: str) -> None:
        now = timezone.now()
        mine = Q(claimed_by=worker, status=S.CLAIMED)
        closed = False
        if self.sent:
            closed = _record_sent(self.sent, worker=worker, now=now, handover=self.handover)
        for status, items in ((S.FAILED, self.failed), (S.UNKNOWN, self.unknown)):
            for pk, reason in items:
                Delivery.objects.filter(mine, id=pk).update(
                    status=status, error=reason[:2000], lease_until=None
                )
        max_attempts = _setting("MAIL_MAX_ATTEMPTS", 5)
        for pk, attempts, reason in self.retry:  # `attempts` counts this one (claims count)
            if attempts >= max_attempts:
                Delivery.objects.filter(mine, id=pk).update(
                    status=S.FAILED,
                    error=_("Abandon après %(n)s tentatives : %(reason)s")
                    % {"n": attempts, "reason": reason[:1900]},
                )
            else:
                backoff = _setting("MAIL_RETRY_BACKOFF", 30) * 2 ** (attempts - 1)
                Delivery.objects.filter(mine, id=pk).update(
                    status=S.PENDING,
                    not_before=now + dt.timedelta(seconds=backoff),
                    claimed_by="",
                    lease_until=None,
                    error=reason[:2000],
                )
        if self.untouched:
            Delivery.objects.filter(mine, id__in=self.untouched).update(
                status=S.PENDING, claimed_by="", lease_until=None
            )
        if self.handover and not closed:
            Handover.objects.filter(pk=self.handover).delete()


def _int_array(values: list[int]) -> str:
    """PostgreSQL's text form of an integer array (`{1,2,3}`), to be cast `::bigint[]`:
    one join, where psycopg's client-side cursor quotes a list element by element."""
    return "{" + ",".join(map(str, values)) + "}"


def _record_sent(sent: list[tuple[int, str]], *, worker: str, now, handover: int | None) -> bool:
    """One UPDATE for a whole chunk, each row with its own ESP message id ((id, ESP id)
    pairs joined on id: Django's bulk_update builds a CASE per row, far slower); on
    PostgreSQL the same statement deletes the chunk's hand-over entry. A row the tick
    already turned unknown (the worker stalled past its lease) is corrected to sent:
    that is what happened. Returns whether the hand-over entry was deleted."""
    table = Delivery._meta.db_table
    close = handover is not None and db_connection.vendor == "postgresql"
    ids = [pk for pk, _esp in sent]
    if db_connection.vendor == "postgresql":  # array parameters, not 2 per row
        prefix = "WITH v(id, esp) AS (SELECT * FROM unnest(%s::bigint[], %s::text[]))"
        id_array = _int_array(ids)
        params = [id_array, [esp for _pk, esp in sent]]
        # The ids again as `= ANY`: the rows are found by primary key whatever the
        # planner guesses of how many rows this worker has claimed (it reckons with
        # statistics taken when they were all pending: about none).
        by_id, by_id_params = f"{table}.id = ANY(%s::bigint[])", [id_array]
    else:
        prefix = f"WITH v(id, esp) AS (VALUES {', '.join(['(%s, %s)'] * len(sent))})"
        params = [item for pair in sent for item in pair]
        by_id, by_id_params = f"{table}.id IN ({', '.join(['%s'] * len(ids))})", ids
    if close:
        prefix += f", closed AS (DELETE FROM {Handover._meta.db_table} WHERE id = %s)"  # noqa: S608
        params.append(handover)
    statement = (
        f"{prefix} UPDATE {table} SET status = %s, sent_at = %s, lease_until = NULL, "  # noqa: S608 — only placeholders are interpolated
        f"error = CASE WHEN status = %s THEN '' ELSE error END, esp_message_id = v.esp FROM v "
        f"WHERE {by_id} AND {table}.id = v.id AND claimed_by = %s AND status IN (%s, %s)"
    )
    with transaction.atomic(), db_connection.cursor() as cursor:
        if close:
            _asynchronous_commit(cursor)
        if db_connection.vendor == "postgresql":
            # For the same reason it would loop over every pair of rows and ids (a
            # million comparisons a chunk) rather than hash the ids.
            cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(
            statement,
            [*params, S.SENT, now, S.UNKNOWN, *by_id_params, worker, S.CLAIMED, S.UNKNOWN],
        )
    return close


def _values(row, make) -> dict:
    """A claimed row's values, by `make` (a `rendering.recipient_values_maker`)."""
    return make(
        delivery_id=row["id"],
        email=row["contact__email"],
        first_name=row["contact__first_name"],
        subscription_id=row["subscription_id"],
        contact_id=row["contact_id"],
        list_slug=row["subscription__mailing_list__slug"],
        list_name=row["subscription__mailing_list__name"],
    )


def _send_rows(rows, *, worker: str) -> None:
    messages = _messages(rows)
    esp_batch = _setting("MAIL_ESP_BATCH", False)
    batch_twin = esp.batch_backend_path(settings.EMAIL_BACKEND) if esp_batch else None
    backend = get_connection(batch_twin, fail_silently=False)
    smtp = (
        hasattr(backend, "open")
        and backend.__class__.__module__ == "django.core.mail.backends.smtp"
    )
    esp_batch = esp_batch and hasattr(backend, "esp_name")
    try:
        for chunk in _chunks(rows, _chunk_size()):
            throttle(len(chunk))
            chunk, handover = _handover_open(chunk, worker)
            if not chunk:
                continue
            outcomes = Outcomes(handover)
            if smtp:
                _send_smtp(backend, chunk, messages, outcomes)
            elif esp_batch:
                _send_esp_batch(backend, chunk, messages, outcomes)
            else:
                _send_django(backend, chunk, messages, outcomes)
            outcomes.record(worker)
            cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
    finally:
        try:
            backend.close()
        except Exception:  # closing a dead connection must not hide the real error
            logger.warning("closing the mail connection failed", exc_info=True)


def _smtp_code(exc) -> int:
    return getattr(exc, "smtp_code", 0) or 0


def _send_smtp(backend, chunk, messages, outcomes: Outcomes) -> None:
    """One SMTP connection, prebuilt bytes per recipient; pipelined (RFC 2920) when the
    server offers it."""
    try:
        backend.open()
        backend.connection.ehlo_or_helo_if_needed()
    except (OSError, smtplib.SMTPException) as exc:
        for row in chunk:
            outcomes.retry.append((row["id"], row["attempts"], f"SMTP : {exc}"))
        return
    if backend.connection.has_extn("pipelining"):
        _send_smtp_pipelined(backend, chunk, messages, outcomes)
    else:
        _send_smtp_plain(backend, chunk, messages, outcomes)


def _smtp_refusal(outcomes: Outcomes, row, code: int, reason) -> None:
    if isinstance(reason, bytes):
        reason = reason.decode(errors="replace")
    reason = f"{code} {reason}"
    if 400 <= code < 500:
        outcomes.retry.append((row["id"], row["attempts"], reason))
    else:
        outcomes.failed.append((row["id"], reason))


def _send_smtp_plain(backend, chunk, messages, outcomes: Outcomes) -> None:
    sender = backend.connection
    make = rendering.recipient_values_maker(formatdate(usegmt=True))
    envelope = {key: parseaddr(rendered.from_email)[1] for key, rendered in messages.items()}
    for index, row in enumerate(chunk):
        key = _key(row)
        rendered = messages[key]
        values = _values(row, make)
        envelope_from = envelope[key]
        try:
            sender.sendmail(envelope_from, [values["TO"]], rendered.personal_bytes(values))
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            _smtp_refusal(outcomes, row, code, reason)
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            _smtp_refusal(outcomes, row, _smtp_code(exc), str(exc))
        except (OSError, smtplib.SMTPException) as exc:
            # The connection broke while this message was on the wire: it may have
            # been accepted. The rest of the chunk was never handed over.
            outcomes.unknown.append((row["id"], f"SMTP : {exc}"))
            outcomes.untouched.extend(r["id"] for r in chunk[index + 1 :])
            backend.connection = None
            return
        else:
            outcomes.sent.append((row["id"], values["MSGID"].strip("<>")))


def _envelope(row, rendered, from_address: str) -> bytes | None:
    """MAIL, RCPT and DATA of one message, or None for an address SMTP cannot carry."""
    to = row["contact__email"]
    if not to.isascii() or any(c in to for c in "\r\n<>") or not from_address.isascii():
        return None
    return f"MAIL FROM:<{from_address}>\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode()


def _dot_stuffed(data: bytes) -> bytes:
    if data.startswith(b".") or b"\n." in data:
        data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _send_smtp_pipelined(backend, chunk, messages, outcomes: Outcomes) -> None:
    """ESMTP PIPELINING: each write carries one message's content and end-of-data
    together with the next message's MAIL, RCPT and DATA, so a message costs one
    round trip instead of four. Replies are read in order: a refusal concerns one
    message only, as with smtplib; a broken connection makes the message whose
    content was sent unknown and leaves the ones not yet sent untouched."""
    sender = backend.connection
    make = rendering.recipient_values_maker(formatdate(usegmt=True))
    envelope = {key: parseaddr(rendered.from_email)[1] for key, rendered in messages.items()}
    pending = b""  # bytes to write before reading the next replies
    reset = False  # a refused transaction must be reset before the next MAIL
    started = 0  # rows before this one are settled (or were skipped as not sendable)
    in_flight = None  # the row whose content was written, its end-of-data reply unread

    def settle_end(row, message_id):
        code, reply = sender.getreply()
        if code == 250:
            outcomes.sent.append((row["id"], message_id))
        else:
            _smtp_refusal(outcomes, row, code, reply)

    try:
        for index, row in enumerate(chunk):
            key = _key(row)
            commands = _envelope(row, messages[key], envelope[key])
            if commands is None:
                outcomes.failed.append((row["id"], _("adresse refusée par SMTP")))
                started = index + 1
                continue
            values = _values(row, make)
            data = _dot_stuffed(messages[key].personal_bytes(values))
            if reset:
                commands = b"RSET\r\n" + commands
            sender.send(pending + commands)
            pending = b""
            if in_flight is not None:
                settle_end(*in_flight)
                in_flight = None
            started = index
            if reset:
                sender.getreply()
                reset = False
            replies = [sender.getreply() for _i in range(3)]
            (mail_code, mail_reply), (rcpt_code, rcpt_reply), (data_code, data_reply) = replies
            if data_code == 354:
                pending = data
                in_flight = (row, values["MSGID"].strip("<>"))
                started = index + 1
                continue
            reset = True
            if mail_code != 250:
                _smtp_refusal(outcomes, row, mail_code, mail_reply)
            elif rcpt_code not in (250, 251):
                _smtp_refusal(outcomes, row, rcpt_code, rcpt_reply)
            else:
                _smtp_refusal(outcomes, row, data_code, data_reply)
            started = index + 1
        if pending:
            sender.send(pending)
            settle_end(*in_flight)
            in_flight = None
        if reset:  # the connection serves the next chunk: leave it between transactions
            sender.rset()
    except (OSError, smtplib.SMTPException) as exc:
        # The message whose content went out may have been accepted; the rest of the
        # chunk was never handed over.
        if in_flight is not None:
            outcomes.unknown.append((in_flight[0]["id"], f"SMTP : {exc}"))
        outcomes.untouched.extend(r["id"] for r in chunk[started:])
        backend.connection = None


def _transient(exc) -> bool:
    status = getattr(exc, "status_code", None)
    return status is None or status == 429 or status >= 500


def _send_django(backend, chunk, messages, outcomes: Outcomes) -> None:
    """Backends that take message objects (anymail one by one, files, tests)."""
    from anymail.exceptions import AnymailError, AnymailRecipientsRefused

    make = rendering.recipient_values_maker()
    for index, row in enumerate(chunk):
        values = _values(row, make)
        message = messages[_key(row)].personal_message(values, connection=backend)
        try:
            backend.send_messages([message])
        except AnymailRecipientsRefused as exc:
            outcomes.failed.append((row["id"], str(exc)))
        except AnymailError as exc:
            if _transient(exc):
                outcomes.retry.append((row["id"], row["attempts"], str(exc)))
            else:
                outcomes.failed.append((row["id"], str(exc)))
        except (OSError, smtplib.SMTPException) as exc:
            outcomes.unknown.append((row["id"], str(exc)))
            outcomes.untouched.extend(r["id"] for r in chunk[index + 1 :])
            return
        else:
            status = getattr(message, "anymail_status", None)
            esp_id = (status.message_id if status else None) or values["MSGID"]
            outcomes.sent.append((row["id"], str(esp_id).strip("<>")))


def _send_esp_batch(backend, chunk, messages, outcomes: Outcomes) -> None:
    """One ESP API call per message and chunk (anymail batch sending with merge data)."""
    from anymail.exceptions import AnymailError
    from anymail.message import AnymailMessage

    merge_field = _setting("MAIL_ESP_MERGE_FIELD", "%recipient.{}%")
    # One Date for the chunk (the ESP sets its own).
    make = rendering.recipient_values_maker(formatdate(usegmt=True))
    by_key = defaultdict(list)
    for row in chunk:
        by_key[_key(row)].append(row)
    for key, rows in by_key.items():
        rendered = messages[key]

        def esp_fields(text: str) -> str:
            return rendering.PLACEHOLDER.sub(lambda m: merge_field.format(m.group(1).lower()), text)

        recipients = {row["contact__email"]: (row, _values(row, make)) for row in rows}
        # Merge data: only the values the text and HTML use.
        used = sorted(set(rendering.PLACEHOLDER.findall(rendered.text + rendered.html)))
        merge_keys = [(name, name.lower()) for name in used]
        message = AnymailMessage(
            subject=rendered.subject,
            body=esp_fields(rendered.text),
            from_email=rendered.from_email,
            to=list(recipients),
            connection=backend,
        )
        message.attach_alternative(esp_fields(rendered.html), "text/html")
        message.tags = [rendered.key]
        message.metadata = rendered.metadata
        message.track_opens = settings.MAIL_TRACK_OPENS
        message.merge_data = {
            email: {key: values[name] for name, key in merge_keys}
            for email, (_row, values) in recipients.items()
        }
        message.merge_metadata = {
            email: {"delivery_id": values["DID"]} for email, (_r, values) in recipients.items()
        }
        headers = {name: value for name, value in rendered.headers().items() if name != "Date"}
        message.extra_headers = {
            name: value
            for name, value in headers.items()
            if not rendering.PLACEHOLDER.search(value)
        }
        personal = {  # `@@NAME@@` → `{NAME}`: one format_map per header and recipient
            name: rendering.PLACEHOLDER.sub(
                r"{\1}", value.replace("{", "{{").replace("}", "}}")
            ).format_map
            for name, value in headers.items()
            if name not in message.extra_headers
        }
        filled = {
            name: [fill(values) for _row, values in recipients.values()]
            for name, fill in personal.items()
        }
        for name, column in list(filled.items()):
            if len(set(column)) == 1:  # the same for everyone in the chunk (List-Id, often)
                message.extra_headers[name] = column[0]
                del filled[name]
        message.merge_headers = {
            email: {name: column[index] for name, column in filled.items()}
            for index, email in enumerate(recipients)
        }
        try:
            backend.send_messages([message])
        except AnymailError as exc:
            for row, _unused in recipients.values():
                if _transient(exc) and getattr(exc, "status_code", None):
                    outcomes.retry.append((row["id"], row["attempts"], str(exc)))
                elif getattr(exc, "status_code", None):
                    outcomes.failed.append((row["id"], str(exc)))
                else:  # no answer from the ESP: it may have accepted the batch
                    outcomes.unknown.append((row["id"], str(exc)))
            continue
        for email, (row, _unused) in recipients.items():
            status = message.anymail_status.recipients.get(email)
            if status is None or status.status in ("rejected", "failed", "invalid"):
                outcomes.failed.append((row["id"], str(status.status if status else "inconnu")))
            else:
                outcomes.sent.append((row["id"], str(status.message_id or "").strip("<>")))


# --- preview and test sends ----------------------------------------------------


def message_preview(*, message, contact: Contact, language: str = "") -> tuple[str, str]:
    """HTML and text of `message` (a Mailing or a Step) as `contact` would see it, the
    chrome in `language` when given, else in the contact's."""
    subscriptions = contact.subscriptions.select_related("mailing_list").order_by("pk")
    # A step is seen with the links of its sequence's list, when the contact is on it.
    list_id = getattr(getattr(message, "sequence", None), "mailing_list_id", None)
    subscription = (
        list_id and subscriptions.filter(mailing_list_id=list_id).first()
    ) or subscriptions.first()
    values = rendering.recipient_values(
        delivery_id=None,
        email=contact.email or "",
        first_name=contact.first_name,
        subscription_id=subscription.pk if subscription else 0,
        contact_id=contact.pk,
        list_slug=subscription.mailing_list.slug if subscription else "preview",
        list_name=subscription.mailing_list.name if subscription else "",
    )
    return rendering.render_message(message, language or contact.language).preview(values)


def message_send_test(*, message, email: str, first_name: str = "", language: str = "") -> None:
    """Send `message` to the editor, marked as a test, the chrome in `language` (the
    site's default language when empty); no delivery row is written."""
    language = rendering.chrome_language(language)
    rendered = rendering.render_message(message, language)
    with translation.override(language):
        list_name = _("Envoi de test")
        subject = _("[TEST] %(subject)s") % {"subject": rendered.subject}
    values = rendering.recipient_values(
        delivery_id=None,
        email=email,
        first_name=first_name,
        subscription_id=0,
        contact_id=0,
        list_slug="test",
        list_name=list_name,
    )
    personal = rendered.personal_message(values)
    personal.subject = subject
    personal.send()


# --- from an article -------------------------------------------------------------


def mailing_create_from_article(*, article, lists=()) -> Mailing:
    """A draft mailing from an article, to `lists`: its title, description and Markdown
    body, with a link back to it on the site. Uses only `title`, `description`, `body`
    and `get_absolute_url()`."""
    url = rendering.absolute(article.get_absolute_url())
    label = _("Lire l’article sur le site")
    body = f"{article.body.strip()}\n\n[{label}]({url})\n"
    mailing = Mailing.objects.create(
        subject=article.title[:200],
        preheader=(article.description or "")[:200],
        body=body,
    )
    mailing.lists.set(lists)
    return mailing
