"""The outbox: every delivery handed to the mail server at most once, each in one final state.

1. Claim: one statement takes up to MAIL_BATCH_SIZE pending rows (FOR UPDATE SKIP LOCKED):
   `claimed`, the worker's id, a lease. Nothing has gone out; attempts unchanged.
2. Journal: before a row's content goes out, a committed `Handover` row covers it (rows
   [first_id, last_id] of worker W), MAIL_HANDOVER_STEP rows ahead; leases are renewed.
3. Hand-over: outside any transaction, through one transport (`mailings/transports/`).
4. Record: ONE transaction settles the chunk (sent, failed, retried later, unknown only for
   the message in flight when the connection broke, pending if never reached) and deletes
   its journal row. A slow worker's report still wins: what it says is what happened.
5. Recover (the tick, exclusive advisory lock): expired claimed rows under an open journal
   row become `unknown` (maybe sent: shown, never resent); the others go back to `pending`.
Pace (batch chains, sending rate): `chains.py`. Who may not be sent to: `recipients.py`.
"""

import datetime as dt
import logging
import os
import socket
import time
import uuid

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import Case, Exists, F, OuterRef, Q, When
from django.utils import timezone
from django.utils.translation import gettext as _

from . import chains, recipients, rendering, transports
from .completion import mailings_finish
from .models import Delivery, Handover

logger = logging.getLogger(__name__)

S = Delivery.Status
# pg_advisory lock taken shared by workers journalling a hand-over, exclusive by whoever
# changes claimed rows behind a worker's back (the tick's recovery, cancelling).
HANDOVER_LOCK = 0x706F756C73  # "pouls"
MAYBE_SENT = _(
    "Le worker s’est arrêté pendant l’envoi : ce message est peut-être parti. Il n’est pas renvoyé automatiquement."
)


def handover_lock(*, exclusive: bool) -> None:
    """Inside a transaction. SQLite serialises writers by itself."""
    if db_connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with db_connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [HANDOVER_LOCK])


def in_handover(*, expired_at=None):
    """Delivery rows covered by an open hand-over of the worker that claimed them."""
    entries = Handover.objects.filter(
        worker=OuterRef("claimed_by"), first_id__lte=OuterRef("pk"), last_id__gte=OuterRef("pk")
    )
    if expired_at is not None:
        entries = entries.filter(lease_until__lt=expired_at)
    return Exists(entries)


def outbox_recover(*, now: dt.datetime | None = None) -> dict:
    """Tick handler: expired leases, finished mailings, lost chains."""
    now = now or timezone.now()
    expired = Q(lease_until__lt=now)
    with transaction.atomic():
        handover_lock(exclusive=True)
        # Handed over by a worker gone silent past its lease: maybe sent. If the worker
        # was only slow, it corrects these rows when it records.
        maybe_sent = {
            "status": S.UNKNOWN,
            "lease_until": None,
            "error": MAYBE_SENT,
            "attempts": F("attempts") + 1,
        }
        unknown = (
            Delivery.objects.filter(status=S.CLAIMED)
            .filter(in_handover(expired_at=now))
            .update(**maybe_sent)
        )
        released = (
            Delivery.objects.filter(expired, status=S.CLAIMED)
            .exclude(in_handover())
            .update(status=S.PENDING, claimed_by="", claimed_at=None, lease_until=None)
        )
        Handover.objects.filter(lease_until__lt=now).delete()
    finished = mailings_finish()
    requeued = 0
    if Delivery.objects.sendable_now(now).exists():
        requeued = chains.chains_requeue()
    return {"released": released, "unknown": unknown, "finished": finished, "requeued": requeued}


# --- 1. claim ----------------------------------------------------------------------------


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease_until() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=settings.MAIL_LEASE_SECONDS)


CLAIM_FIELDS = (
    "id",
    "mailing_id",
    "step_id",
    "attempts",
    "contact_id",
    "subscription_id",
    "variant_id",
)


def outbox_claim(*, worker: str, size: int) -> list[dict]:
    """Claim up to `size` sendable rows in id order, each with `recipients.RECIPIENT_FIELDS`
    (None for a vanished contact or subscription): `claim_postgresql` on PostgreSQL, its
    ORM twin `claim_orm` elsewhere (tests/mailings/test_contract_sql_orm.py runs both)."""
    if db_connection.vendor == "postgresql":
        return claim_postgresql(worker=worker, size=size)
    return claim_orm(worker=worker, size=size)


def _claim_query(worker: str, size: int):
    """The sendable rows to lock, and the claim's changes."""
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
    return sendable, changes


def claim_postgresql(*, worker: str, size: int) -> list[dict]:
    """The claim in one statement: UPDATE … WHERE id = ANY(ARRAY(SELECT … FOR UPDATE SKIP
    LOCKED)) RETURNING …, inside `recipients.RECIPIENTS_SQL`, which reads the recipients."""
    sendable, changes = _claim_query(worker, size)
    table = Delivery._meta.db_table
    assignments = ", ".join(f"{name} = %s" for name in changes)
    fields = CLAIM_FIELDS + recipients.RECIPIENT_FIELDS
    with transaction.atomic(), db_connection.cursor() as cursor:
        select, select_params = sendable.query.sql_with_params()
        # Only our own table and column names are interpolated; values are parameters.
        # `= ANY(ARRAY(…))`: the locked ids first, then one primary-key probe each (with
        # `IN (…)` the planner may scan the whole outbox to hash-join them).
        statement = (
            f"UPDATE {table} SET {assignments} "  # noqa: S608
            f"WHERE id = ANY(ARRAY({select})) RETURNING {', '.join(CLAIM_FIELDS)}"
        )
        statement = f"WITH claimed AS ({statement}) {recipients.RECIPIENTS_SQL}"
        _asynchronous_commit(cursor)
        # Its cost estimate crosses PostgreSQL's JIT threshold; compiling the plan costs
        # more than running it, every time.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(statement, [*changes.values(), *select_params])
        rows = [dict(zip(fields, row, strict=True)) for row in cursor.fetchall()]
    chrome = {}
    for row in rows:
        language = row["contact__language"]
        if language not in chrome:
            chrome[language] = rendering.chrome_language(language)
        row["contact__language"] = chrome[language]
    return rows


def claim_orm(*, worker: str, size: int) -> list[dict]:
    """The same claim with the ORM, in one transaction: lock, update, read back, then
    `recipients.with_recipients`."""
    sendable, changes = _claim_query(worker, size)
    with transaction.atomic():
        ids = list(sendable)
        Delivery.objects.filter(id__in=ids).update(**changes)
        rows = list(Delivery.objects.filter(id__in=ids).order_by("id").values(*CLAIM_FIELDS))
    return recipients.with_recipients(rows)


def _asynchronous_commit(cursor) -> None:
    """This transaction's commit does not wait for the disk. Safe for the claim and for
    recording outcomes: a PostgreSQL crash can only lose them together with what
    followed, and the hand-over journal (committed synchronously, which flushes all
    earlier commits) still says which rows may have gone out: they become unknown,
    never sent twice."""
    cursor.execute("SET LOCAL synchronous_commit TO OFF")


# --- a batch: claim, skip, then chunk by chunk journal, hand over, record -------------


def outbox_send_batch(
    *, size: int | None = None, slot: int | None = None, token: str | None = None
) -> int:
    """Claim up to `size` sendable rows, send them, record the outcomes. Returns rows
    claimed (0 when the outbox is empty or this chain was replaced by a newer one)."""
    if not chains.chain_beat(slot, token):
        return 0
    worker = _worker_id()
    size = chains.claim_size(size or settings.MAIL_BATCH_SIZE)
    claimed = outbox_claim(worker=worker, size=size)
    if not claimed:
        mailings_finish()  # the last batch to find the outbox empty closes the mailing
        return 0
    lease = Lease(worker, beat=lambda: chains.chain_beat(slot, token))
    sendable = recipients.settle_unsendable(claimed, worker=worker)
    if sendable:
        _send_rows(sendable, worker=worker, lease=lease)
    return len(claimed)


def _send_rows(rows, *, worker: str, lease: "Lease") -> None:
    messages = transports.messages_render(rows)
    transport = transports.transport_for(esp_batch=settings.MAIL_ESP_BATCH)
    step = transport.journal_step
    step = settings.MAIL_HANDOVER_STEP if step == 0 else step
    size = chains.chunk_size()
    try:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            chains.throttle(len(chunk), keep=lease.keep)
            journal = Journal(chunk, worker=worker, step=step or len(chunk), lease=lease)
            outcomes = transports.Outcomes()
            try:
                transport.send(chunk, messages, outcomes, journal)
            finally:  # even when the database or a bug stopped the hand-over midway
                outcomes_record(outcomes, worker=worker, journal=journal)
            lease.keep()
            lease.beat()
    finally:
        transport.close()


# --- 2. journal, and the leases a live worker keeps --------------------------------------


class Lease:
    """A batch's hold on its claimed rows: renewed (with its chain's beat) once a third of
    MAIL_LEASE_SECONDS has passed, so that a live worker never loses them to the tick."""

    def __init__(self, worker: str, *, beat=None):
        self.worker = worker
        self.beat = beat or (lambda: True)
        self.renewed = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.renewed > settings.MAIL_LEASE_SECONDS / 3

    def keep(self, journal_ids: list[int] | None = None) -> None:
        """Renew if due (inside a transaction of the caller's, or alone)."""
        if not self.due():
            return
        until = _lease_until()
        with transaction.atomic():
            Delivery.objects.filter(claimed_by=self.worker, status=S.CLAIMED).update(
                lease_until=until
            )
            if journal_ids:
                Handover.objects.filter(pk__in=journal_ids).update(lease_until=until)
        self.renewed = time.monotonic()
        self.beat()


class Journal:
    """The hand-over journal of one chunk (step 2). `reach(index)` is called before the
    content of `chunk[index]` goes out: it makes sure a committed `Handover` row covers it
    (extending it by `step` rows), renews the leases when due, and says whether the row is
    still this worker's (cancelled, or released by the tick, it is not: skip it)."""

    def __init__(self, chunk: list[dict], *, worker: str, step: int, lease: Lease):
        self.chunk = chunk
        self.worker = worker
        self.step = max(1, step)
        self.lease = lease
        self.ids: list[int] = []  # its Handover rows (a new one if the tick deleted ours)
        self.covered = 0  # chunk[:covered] is journalled
        self.reached: set[int] = set()  # indexes whose content may have started out
        self.lost: set[int] = set()

    def reach(self, index: int) -> bool:
        try:
            if index >= self.covered:
                self._extend(min(len(self.chunk), max(index + 1, self.covered + self.step)))
            elif self.lease.due():
                self.lease.keep(self.ids)
        except DatabaseError:
            # Unreachable: rows already journalled may still go out, the others wait
            # (not sent, not settled: recorded as never reached, once the database is back).
            logger.warning("hand-over journal: database unreachable", exc_info=True)
            if index >= self.covered:
                return False
        if self.chunk[index]["id"] in self.lost:
            return False
        self.reached.add(index)
        return True

    def _extend(self, end: int) -> None:
        rows = self.chunk[self.covered : end]
        first, last = rows[0]["id"], rows[-1]["id"]
        with transaction.atomic():
            handover_lock(exclusive=False)
            self.lost |= set(  # usually none: only they are read, not the whole range
                Delivery.objects.filter(id__gte=first, id__lte=last)
                .exclude(claimed_by=self.worker, status=S.CLAIMED)
                .values_list("id", flat=True)
            )
            until = _lease_until()
            extended = self.ids and Handover.objects.filter(pk=self.ids[-1]).update(
                last_id=last, lease_until=until
            )
            if not extended:  # the first step, or the tick closed the previous row
                entry = Handover.objects.create(
                    worker=self.worker, first_id=first, last_id=last, lease_until=until
                )
                self.ids.append(entry.pk)
            if self.lease.due():
                self.lease.keep(self.ids)
        self.covered = end


# --- 4. record ------------------------------------------------------------------------


def outcomes_record(outcomes, *, worker: str, journal: Journal, tries: int = 6) -> None:
    """Settle every row of the chunk and delete its journal rows in ONE transaction,
    retried while the database is unreachable (a session killed, a restart): either the
    chunk is recorded whole, or the journal still says which rows may have gone out."""
    settled = {pk for pk, *_rest in outcomes.sent + outcomes.failed + outcomes.retry}
    settled |= {pk for pk, _reason in outcomes.unknown} | set(outcomes.untouched)
    interrupted = []
    for index, row in enumerate(journal.chunk):  # the hand-over was interrupted
        if row["id"] in settled or row["id"] in journal.lost:
            continue
        interrupted.append(row["id"])
        if index in journal.reached:
            outcomes.unknown.append((row["id"], MAYBE_SENT))
        else:
            outcomes.untouched.append(row["id"])
    if interrupted:
        logger.warning(
            "hand-over interrupted: rows %s, reached %s", interrupted, sorted(journal.reached)
        )
    for attempt in range(tries):
        try:
            with transaction.atomic():
                _record(outcomes, worker=worker, journal_ids=journal.ids)
            return
        except DatabaseError:
            if attempt == tries - 1:
                raise
            logger.warning("recording outcomes failed, retrying", exc_info=True)
            db_connection.close()
            time.sleep(0.2 * 2**attempt)


def _record(outcomes, *, worker: str, journal_ids: list[int]) -> None:
    """Inside a transaction. The worker's rows are those it claimed, still claimed or
    turned unknown by the tick while it was slow: what it reports is what happened."""
    now = timezone.now()
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            _asynchronous_commit(cursor)
    mine = Q(claimed_by=worker, status__in=(S.CLAIMED, S.UNKNOWN))
    # A row the tick turned unknown already counts this attempt.
    attempted = Case(When(status=S.UNKNOWN, then=F("attempts")), default=F("attempts") + 1)
    if outcomes.sent:
        _record_sent(outcomes.sent, worker=worker, now=now)
    for status, items in ((S.FAILED, outcomes.failed), (S.UNKNOWN, outcomes.unknown)):
        for pk, reason in items:
            Delivery.objects.filter(mine, id=pk).update(
                status=status, error=reason[:2000], lease_until=None, attempts=attempted
            )
    for pk, attempts, reason in outcomes.retry:
        attempts += 1  # this one
        if attempts >= settings.MAIL_MAX_ATTEMPTS:
            changes = {
                "status": S.FAILED,
                "error": _("Abandon après %(n)s tentatives : %(reason)s")
                % {"n": attempts, "reason": reason[:1900]},
            }
        else:
            backoff = settings.MAIL_RETRY_BACKOFF * 2 ** (attempts - 1)
            changes = {
                "status": S.PENDING,
                "not_before": now + dt.timedelta(seconds=backoff),
                "claimed_by": "",
                "error": reason[:2000],
            }
        Delivery.objects.filter(mine, id=pk).update(lease_until=None, attempts=attempts, **changes)
    if outcomes.untouched:  # never handed over: back to the outbox
        Delivery.objects.filter(mine, id__in=outcomes.untouched).update(
            status=S.PENDING, claimed_by="", claimed_at=None, lease_until=None, error=""
        )
    if journal_ids:
        Handover.objects.filter(pk__in=journal_ids).delete()


def _int_array(values: list[int]) -> str:
    """PostgreSQL's text form of an integer array (`{1,2,3}`), to be cast `::bigint[]`:
    one join, where psycopg's client-side cursor quotes a list element by element."""
    return "{" + ",".join(map(str, values)) + "}"


def _record_sent(sent: list[tuple[int, str]], *, worker: str, now) -> None:
    """One UPDATE for a whole chunk, each row with its own ESP message id."""
    arrays = db_connection.vendor == "postgresql"
    statement, params = sent_statement(sent, worker=worker, now=now, arrays=arrays)
    with db_connection.cursor() as cursor:
        if arrays:
            # The planner would loop over every pair of rows and ids (a million
            # comparisons a chunk) rather than hash the ids.
            cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(statement, params)


def sent_statement(sent: list[tuple[int, str]], *, worker: str, now, arrays: bool):
    """(SQL, parameters) recording (id, ESP id) pairs as sent, joined on id (Django's
    bulk_update builds a CASE per row, far slower). A row the tick already turned unknown
    (the worker stalled past its lease) is corrected to sent: that is what happened.
    `arrays`: two PostgreSQL array parameters (unnest) instead of two per row (VALUES),
    the portable form; the contract test runs both on PostgreSQL."""
    table = Delivery._meta.db_table
    ids = [pk for pk, _esp in sent]
    if arrays:
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
    statement = (
        f"{prefix} UPDATE {table} SET status = %s, sent_at = %s, lease_until = NULL, "  # noqa: S608 — only placeholders are interpolated
        f"attempts = CASE WHEN status = %s THEN attempts ELSE attempts + 1 END, "
        f"error = CASE WHEN status = %s THEN '' ELSE error END, "
        f"esp_message_id = v.esp FROM v "
        f"WHERE {by_id} AND {table}.id = v.id AND claimed_by = %s AND status IN (%s, %s)"
    )
    return statement, [
        *params,
        S.SENT,
        now,
        S.UNKNOWN,
        S.UNKNOWN,
        *by_id_params,
        worker,
        S.CLAIMED,
        S.UNKNOWN,
    ]
