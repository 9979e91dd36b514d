"""The signup replies' outbox: each signup's email (the confirmation, « déjà
inscrit·e », or nothing) handed to the mail server at most once, and never lost
silently.

1. Request: the signup sets `Subscription.reply_requested_at` (services.signup_submit)
   and, after commit, wakes the sender (wakeup.py); every tick runs it too.
2. Claim: REPLY_CHUNK requests in one transaction: their contacts, then the
   subscriptions, locked in id order (the one lock order); the requests cleared, each
   address's 24-hour slot taken, `reply_claimed_at` set (a lease of REPLY_LEASE).
3. Journal: before a reply goes out, it and the next ones, REPLY_HANDOVER_STEP in all,
   are marked `reply_in_flight` in a committed statement (the first step with the claim).
4. Hand-over: through one connection (sending.Mailer). A failure is settled by the
   server's answer: « not now » gives the reply back to the outbox, its slot freed; a
   refusal is never resent; a connection lost with the content on the way (maybe
   accepted) is never resent either, and frees the slot as a stopped run's does.
5. Record: one statement clears the chunk's claims.
6. Recover (each run starts with it): a claim older than the lease belongs to a worker
   that stopped. Replies not in flight go back to the outbox; those in flight may have
   left and are never resent. Both give their address's slot back, so a reader whose
   email did not come can ask again at once. A stop loses at most one step's replies.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.utils import timezone

from config.mail import REFUSED, RETRY, UNKNOWN, SendFailed

from . import emails, tokens
from .models import Contact, PendingSignup, Subscription, Suppression, email_hash
from .sending import Mailer
from .wakeup import reply_wakeup_clear

logger = logging.getLogger(__name__)

SEND_INTERVAL = timedelta(hours=24)  # at most one service email per address
REPLY_CHUNK = 100  # signups claimed (locked, cleared, their slot taken) per transaction
REPLY_HANDOVER_STEP = 10  # replies journalled in flight per statement
# Longer than any run may last (the wake-up task's time limit, 300 s; the tick's, 60 s):
# a claim this old belongs to a worker that stopped.
REPLY_LEASE = timedelta(minutes=10)


@dataclass
class Reply:
    """One claimed reply: what to send, and what to give back if it cannot go out."""

    subscription: Subscription
    contact: Contact
    name: str
    context: dict
    previous: tuple  # (contact.transactional_sent_at, subscription.confirmation_sent_at)


def signup_replies_send() -> int:
    """Answer every signup waiting for its email, REPLY_CHUNK claimed per transaction,
    their emails rendered once per template and sent through one connection. Runs from
    the wake-up task and from every tick. Returns how many emails left."""
    reply_wakeup_clear()
    # Every signup that committed before the key was deleted is read below; one that
    # commits later finds the key free and queues another run.
    started = timezone.now()
    replies_recover(now=started)
    sent = 0
    given_back = set()  # failed in this run: for the next one
    mailer = Mailer()
    try:
        while True:
            batch = list(
                Subscription.objects.filter(reply_requested_at__lte=started)
                .exclude(pk__in=given_back)
                .order_by("reply_requested_at")
                .values_list("pk", flat=True)[:REPLY_CHUNK]
            )
            if not batch:
                return sent
            try:
                replies = replies_claim(batch, now=timezone.now())
            except Exception:
                given_back.update(batch)
                logger.exception("signup replies for subscriptions %s failed", batch)
                continue
            sent += _hand_over(replies, mailer, given_back)
    finally:
        mailer.close()


def _hand_over(replies: list["Reply"], mailer: Mailer, given_back: set) -> int:
    """Journal, send and record one claimed chunk; returns how many emails left."""
    sent = 0
    for position, reply in enumerate(replies):
        if position and position % REPLY_HANDOVER_STEP == 0:
            _journal(replies[position : position + REPLY_HANDOVER_STEP])
        try:
            sent += reply_send(reply, mailer)
        except SendFailed as failure:
            given_back.add(reply.subscription.pk)
            logger.warning(
                "signup reply for subscription %s not sent (%s): %s",
                reply.subscription.pk,
                failure.outcome,
                failure.reason,
            )
        except Exception:
            given_back.add(reply.subscription.pk)
            logger.exception("signup reply for subscription %s failed", reply.subscription.pk)
    # Not reached when the run is stopped: its claims then expire (`replies_recover`).
    _record(replies)
    return sent


def _journal(replies: list["Reply"]) -> None:
    """These replies may leave from now on: a stop will not resend them."""
    Subscription.objects.filter(pk__in=[r.subscription.pk for r in replies]).update(
        reply_in_flight=True
    )


def _record(replies: list["Reply"]) -> None:
    """The chunk is settled: what left left, what failed went back to the outbox."""
    if replies:
        now = replies[0].contact.transactional_sent_at
        Subscription.objects.filter(
            pk__in=[r.subscription.pk for r in replies], reply_claimed_at=now
        ).update(reply_claimed_at=None, reply_in_flight=False)


@transaction.atomic
def replies_claim(subscription_ids: list[int], *, now) -> list[Reply]:
    """Claim the replies of these signups in one transaction: lock their contacts, then
    the subscriptions still waiting (the one lock order of every write here, in id
    order), clear the requests, take each address's 24-hour slot, start the lease and
    journal the first step. Returns what to send."""
    contact_ids = Subscription.objects.filter(pk__in=subscription_ids).values("contact_id")
    list(
        Contact.objects.select_for_update(no_key=True)
        .filter(pk__in=contact_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    subscriptions = list(
        Subscription.objects.select_for_update(no_key=True, of=("self",))
        .select_related("contact", "mailing_list")
        .filter(pk__in=subscription_ids, reply_requested_at__isnull=False)
        .order_by("pk")
    )
    if not subscriptions:
        return []  # answered by another run, or purged
    suppressed = set(
        Suppression.objects.filter(
            email_hash__in=[email_hash(s.contact.email) for s in subscriptions if s.contact.email]
        ).values_list("email_hash", flat=True)
    )
    resubmitted = set(
        PendingSignup.objects.filter(subscription__in=subscriptions).values_list(
            "subscription_id", flat=True
        )
    )
    replies, slots_taken = [], set()
    for subscription in subscriptions:
        contact = subscription.contact
        if contact.pk in slots_taken or not _claim_send(contact, now, suppressed):
            continue
        reply = _reply_for(subscription, now, resubmitted=subscription.pk in resubmitted)
        if reply is not None:
            slots_taken.add(contact.pk)
            replies.append(reply)
    claimed = [r.subscription.pk for r in replies]
    confirming = [r.subscription.pk for r in replies if r.subscription.confirmation_sent_at == now]
    # One statement for the chunk (each row written once): every request cleared, the
    # replies leased, the first step journalled, the confirmations' new state.
    Subscription.objects.filter(pk__in=[s.pk for s in subscriptions]).update(
        reply_requested_at=None,
        reply_claimed_at=_for(claimed, now, "reply_claimed_at"),
        reply_in_flight=_for(claimed[:REPLY_HANDOVER_STEP], True, "reply_in_flight"),
        confirmation_sent_at=_for(confirming, now, "confirmation_sent_at"),
    )
    Contact.objects.filter(pk__in=slots_taken).update(transactional_sent_at=now)
    return replies


def _for(pks: list[int], value, field: str) -> Case:
    """`value` for the rows in `pks`, the field's own value for the others."""
    return Case(When(pk__in=pks, then=Value(value)), default=F(field))


def _claim_send(contact: Contact, now, suppressed: set[str]) -> bool:
    """At most one service email per address per 24 hours; the row is locked."""
    if not contact.is_sendable or email_hash(contact.email) in suppressed:
        return False
    if contact.transactional_sent_at and now - contact.transactional_sent_at < SEND_INTERVAL:
        return False
    return True


def _reply_for(subscription: Subscription, now, *, resubmitted: bool) -> Reply | None:
    """The email a claimed signup calls for, its links bound to this send; None for none."""
    contact = subscription.contact
    previous = (contact.transactional_sent_at, subscription.confirmation_sent_at)
    context = {"mailing_list": subscription.mailing_list}
    if subscription.status == Subscription.Status.PENDING or (
        subscription.status == Subscription.Status.UNSUBSCRIBED and resubmitted
    ):  # unsubscribed and signed up again: ask the owner
        name = "confirm"
        subscription.confirmation_sent_at = now
        context["url"] = tokens.confirm_url(subscription)
        context["first_name"] = emails.greeting_name(contact.first_name)
    elif subscription.status == Subscription.Status.ACTIVE:
        name = "already_subscribed"
        context["url"] = tokens.preferences_url(contact)
        if resubmitted:
            # What the form carried applies only if the owner confirms it: the
            # notice's own confirmation link, bound to this email.
            subscription.confirmation_sent_at = now
            context["update_url"] = tokens.confirm_url(subscription)
    else:
        return None
    contact.transactional_sent_at = now
    return Reply(subscription, contact, name, context, previous)


def reply_send(reply: Reply, mailer: Mailer) -> bool:
    """Hand one claimed reply to the mail server. A failed hand-over is settled by what
    became of the email, then raised (`config.mail.SendFailed`):

    - not sent, « not now » (RETRY): back in the outbox for a later run, its slot freed;
    - refused for good (REFUSED): never sent again; the slot stays taken, so the
      address is not tried again for 24 hours;
    - maybe accepted (UNKNOWN): never sent again, as a reply a stopped run left in
      flight: its slot is freed, so the reader can ask again at once.
    """
    try:
        mailer.send(
            name=reply.name,
            to=reply.contact.email,
            context=reply.context,
            language=reply.contact.language,
        )
    except SendFailed as failure:
        _settle_failure(reply, failure.outcome)
        raise
    return True


def _settle_failure(reply: Reply, outcome: str) -> None:
    now = reply.contact.transactional_sent_at
    if outcome != REFUSED:
        Contact.objects.filter(pk=reply.contact.pk, transactional_sent_at=now).update(
            transactional_sent_at=reply.previous[0]
        )
    settled = {"reply_claimed_at": None, "reply_in_flight": False}
    if outcome != UNKNOWN:  # nothing arrived: the links of an earlier email stay valid
        settled["confirmation_sent_at"] = reply.previous[1]
    if outcome == RETRY:
        # Later than this run's start, so a long outage cannot spin this run.
        settled["reply_requested_at"] = timezone.now()
    Subscription.objects.filter(pk=reply.subscription.pk).update(**settled)


@transaction.atomic
def replies_recover(*, now) -> tuple[int, int]:
    """Settle the claims of runs that stopped (older than REPLY_LEASE): replies never
    handed over go back to the outbox, replies maybe sent are not resent; each frees
    the slot its claim took. Returns (given back, maybe sent)."""
    expired = Subscription.objects.filter(reply_claimed_at__lt=now - REPLY_LEASE)
    if not expired.exists():
        return 0, 0
    # Contacts first, then subscriptions: the one lock order.
    Contact.objects.filter(
        Exists(
            expired.filter(
                contact=OuterRef("pk"), reply_claimed_at=OuterRef("transactional_sent_at")
            )
        )
    ).update(transactional_sent_at=None)
    given_back = expired.filter(reply_in_flight=False).update(
        reply_claimed_at=None, reply_requested_at=now
    )
    maybe_sent = expired.filter(reply_in_flight=True).update(
        reply_claimed_at=None, reply_in_flight=False
    )
    if given_back or maybe_sent:
        logger.warning(
            "signup replies of a stopped worker: %s back in the outbox, %s maybe sent "
            "(not resent; their readers may ask again at once)",
            given_back,
            maybe_sent,
        )
    return given_back, maybe_sent
