"""Writes that change who may be mailed. Each announces itself through
`signups.signals` so that `mailings` can enrol readers or cancel pending sends."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from smtplib import SMTPException

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import emails, signals, tokens
from .fastpaths import signup_cursor
from .models import (
    Answer,
    Consent,
    Contact,
    MailingList,
    PendingSignup,
    Subscription,
    Suppression,
    email_hash,
)
from .sending import Mailer
from .suppression import is_suppressed
from .wakeup import reply_sender_wake, reply_wakeup_clear

logger = logging.getLogger(__name__)


def _lock(subscription_id: int) -> Subscription | None:
    """Lock a subscription and its contact, in the one order every write here uses:
    the contact first, then the subscription (as the signup statement's upserts do;
    the other order deadlocks against concurrent re-signups)."""
    contact_id = (
        Subscription.objects.filter(pk=subscription_id).values_list("contact_id", flat=True).first()
    )
    if contact_id is None:
        return None
    Contact.objects.select_for_update(no_key=True).filter(pk=contact_id).exists()
    return Subscription.objects.select_for_update(no_key=True).filter(pk=subscription_id).first()


@transaction.atomic
def subscription_confirm(*, subscription: Subscription) -> Subscription:
    """Activate a pending subscription; anything else is left as it is."""
    subscription = _lock(subscription.pk) or subscription
    if subscription.status != Subscription.Status.PENDING:
        return subscription
    now = timezone.now()
    subscription.status = Subscription.Status.ACTIVE
    subscription.confirmed_at = now
    subscription.save(update_fields=["status", "confirmed_at"])
    Contact.objects.filter(pk=subscription.contact_id).update(last_activity_at=now)
    signals.subscription_confirmed.send(sender=Subscription, subscription=subscription)
    return subscription


@transaction.atomic
def subscription_unsubscribe(
    *, subscription: Subscription, reason: str = "unsubscribed"
) -> Subscription:
    """Unsubscribe at once; repeating it changes nothing."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.status == Subscription.Status.UNSUBSCRIBED:
        return subscription
    subscription.status = Subscription.Status.UNSUBSCRIBED
    subscription.unsubscribed_at = timezone.now()
    subscription.save(update_fields=["status", "unsubscribed_at"])
    signals.subscription_ended.send(sender=Subscription, subscription=subscription, reason=reason)
    return subscription


# --- signup and double opt-in --------------------------------------------------

SEND_INTERVAL = timedelta(hours=24)


def signup_submit(
    *,
    mailing_list: MailingList,
    email: str,
    form: str,
    first_name: str = "",
    profile: str = "",
    answer: str = "",
    time_zone: str = settings.TIME_ZONE,
    language: str = "fr",
    ip_address: str | None = None,
    user_agent: str = "",
) -> None:
    """Record a signup (contact, pending subscription, consent evidence) in one
    transaction and queue, after commit, the task that answers it.

    The caller learns nothing about the address (new, pending, active, unsubscribed
    or suppressed): the same statement runs and the same wake-up is queued; the
    worker decides what, if anything, to send (`signup_reply_send`). Nothing of a
    suppressed address is stored.
    """
    values = {
        "email": email,
        "hash": email_hash(email),
        "first_name": first_name,
        "profile": profile,
        "time_zone": time_zone,
        "language": language[:8],
        "source": form[:64],
        "list": mailing_list.pk,
        "form": form[:120],
        "ip": ip_address,
        "agent": user_agent[:500],
        "answer": answer,
        "now": timezone.now(),
    }
    if connection.vendor == "postgresql":
        # One statement is one transaction: no BEGIN/COMMIT round trips. Inside a
        # caller's transaction the task still waits for its commit.
        signup_write_postgresql(values)
    else:
        with transaction.atomic():
            signup_write_orm(values)
    transaction.on_commit(reply_sender_wake)


# One round trip instead of eleven: the signup is the hot path (see tests/perf).
# An address already known keeps everything it has: the upsert's no-op SET only locks
# the contact and returns its id (contact first, then subscription: the one lock order
# of every write here), an existing subscription only asks for a reply (an unsubscribed
# one stays unsubscribed), and what was submitted goes to `signups_pendingsignup`,
# applied when the owner confirms by the emailed link (`subscription_confirm_token`).
# `xmax = 0` tells a row this statement inserted from one it found (and only locked).
_SIGNUP_SQL = """
WITH list AS (
    SELECT id, consent_text, consent_version FROM signups_mailinglist
    WHERE id = %(list)s AND is_active
), blocked AS (
    SELECT 1 FROM signups_suppression WHERE email_hash = %(hash)s
), contact AS (
    INSERT INTO signups_contact AS c (
        email, first_name, profile, time_zone, language, source,
        created_at, last_activity_at, suppression_reason
    )
    SELECT %(email)s, %(first_name)s, %(profile)s, %(time_zone)s, %(language)s, %(source)s,
           %(now)s, %(now)s, ''
    WHERE NOT EXISTS (SELECT 1 FROM blocked) AND EXISTS (SELECT 1 FROM list)
    ON CONFLICT (email) DO UPDATE SET source = c.source
    RETURNING id, xmax = 0 AS created
), subscription AS (
    INSERT INTO signups_subscription AS s (
        contact_id, mailing_list_id, status, created_at, reply_requested_at
    )
    SELECT id, %(list)s, 'pending', %(now)s, %(now)s FROM contact
    ON CONFLICT (contact_id, mailing_list_id) DO UPDATE SET
        reply_requested_at = EXCLUDED.reply_requested_at
    RETURNING id
), consent AS (
    INSERT INTO signups_consent (
        contact_id, mailing_list_id, text, version, form, given_at, ip_address, user_agent,
        created_at
    )
    SELECT contact.id, list.id, list.consent_text, list.consent_version, %(form)s, %(now)s,
           %(ip)s, %(agent)s, %(now)s
    FROM contact, list WHERE contact.created
), answer AS (
    INSERT INTO signups_answer (contact_id, mailing_list_id, text, profile, created_at)
    SELECT id, %(list)s, %(answer)s, %(profile)s, %(now)s FROM contact
    WHERE contact.created AND %(answer)s <> ''
), pending AS (
    INSERT INTO signups_pendingsignup (
        subscription_id, first_name, profile, answer, consent_text, consent_version, form,
        ip_address, user_agent, submitted_at
    )
    SELECT subscription.id, %(first_name)s, %(profile)s, %(answer)s, list.consent_text,
           list.consent_version, %(form)s, %(ip)s, %(agent)s, %(now)s
    FROM contact, subscription, list WHERE NOT contact.created
)
SELECT id FROM subscription
"""


def signup_write_postgresql(values: dict) -> int | None:
    """The signup's writes in one statement (`_SIGNUP_SQL`); `signup_write_orm` is its
    twin (tests/mailings/test_contract_sql_orm.py runs both on the same rows)."""
    with signup_cursor() as cursor:
        cursor.execute(_SIGNUP_SQL, values)
        row = cursor.fetchone()
    return row[0] if row else None


def signup_write_orm(values: dict) -> int | None:
    """The same writes as `_SIGNUP_SQL`, for SQLite (the embedded default)."""
    mailing_list = MailingList.objects.filter(pk=values["list"], is_active=True).first()
    if mailing_list is None or is_suppressed(values["email"]):
        return None
    now = values["now"]
    contact, created = Contact.objects.get_or_create(
        email=values["email"],
        defaults={
            "first_name": values["first_name"],
            "profile": values["profile"],
            "time_zone": values["time_zone"],
            "language": values["language"],
            "source": values["source"],
            "created_at": now,
            "last_activity_at": now,
        },
    )
    if not created:  # the lock order of `_SIGNUP_SQL`: contact, then subscription
        Contact.objects.select_for_update(no_key=True).filter(pk=contact.pk).exists()
    subscription, _created = Subscription.objects.get_or_create(
        contact=contact,
        mailing_list=mailing_list,
        defaults={"created_at": now, "reply_requested_at": now},
    )
    Subscription.objects.filter(pk=subscription.pk).update(reply_requested_at=now)
    if not created:
        PendingSignup.objects.create(
            subscription=subscription,
            first_name=values["first_name"],
            profile=values["profile"],
            answer=values["answer"],
            consent_text=mailing_list.consent_text,
            consent_version=mailing_list.consent_version,
            form=values["form"],
            ip_address=values["ip"],
            user_agent=values["agent"],
            submitted_at=now,
        )
        return subscription.pk
    Consent.objects.record(
        contact=contact,
        mailing_list=mailing_list,
        form=values["form"],
        given_at=now,
        ip_address=values["ip"],
        user_agent=values["agent"],
    )
    if values["answer"]:
        Answer.objects.create(
            contact=contact,
            mailing_list=mailing_list,
            text=values["answer"],
            profile=values["profile"],
            created_at=now,
        )
    return subscription.pk


TRANSIENT_SEND_ERRORS = (SMTPException, ConnectionError, TimeoutError, OSError)


REPLY_CHUNK = 100  # signups claimed (locked, cleared, their slot taken) per transaction


@dataclass
class Reply:
    """One claimed reply: what to send, and what to give back if it cannot go out."""

    subscription: Subscription
    contact: Contact
    name: str
    context: dict
    previous: tuple  # (contact.transactional_sent_at, subscription.confirmation_sent_at)


def signup_replies_send() -> int:
    """Answer every signup waiting for its email (`Subscription.reply_requested_at`
    is the outbox). Runs from the wake-up task and from every tick: REPLY_CHUNK
    signups claimed in one transaction, their emails rendered once per template and
    sent through one connection."""
    reply_wakeup_clear()
    # Every signup that committed before the key was deleted is read below; one that
    # commits later finds the key free and queues another run.
    started = timezone.now()
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
            for reply in replies:
                try:
                    sent += reply_send(reply, mailer)
                except Exception:
                    given_back.add(reply.subscription.pk)
                    logger.exception(
                        "signup reply for subscription %s failed", reply.subscription.pk
                    )
    finally:
        mailer.close()


def signup_reply_send(*, subscription_id: int) -> str:
    """Send what one signup calls for: the confirmation, « déjà inscrit·e », or nothing.

    The send is claimed in the database before it leaves (the request is cleared and
    the address's 24-hour slot taken), so a redelivered task never sends it twice. A
    transient failure gives the claim back for the next tick; any other is dropped.
    Returns the name of the email sent, or "".
    """
    mailer = Mailer()
    try:
        for reply in replies_claim([subscription_id], now=timezone.now()):
            reply_send(reply, mailer)
            return reply.name
    finally:
        mailer.close()
    return ""


@transaction.atomic
def replies_claim(subscription_ids: list[int], *, now) -> list[Reply]:
    """Claim the replies of these signups in one transaction: lock their contacts, then
    the subscriptions still waiting (the one lock order of every write here, in id
    order), clear the requests, take each address's 24-hour slot. Returns what to send."""
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
    Subscription.objects.filter(pk__in=[s.pk for s in subscriptions]).update(
        reply_requested_at=None
    )
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
    Subscription.objects.filter(
        pk__in=[r.subscription.pk for r in replies if r.subscription.confirmation_sent_at == now]
    ).update(confirmation_sent_at=now)
    Contact.objects.filter(pk__in=slots_taken).update(transactional_sent_at=now)
    return replies


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
    """Hand one claimed reply to the mail server; a transient failure gives the claim
    back (for a later run) and is raised."""
    now = reply.contact.transactional_sent_at
    try:
        mailer.send(
            name=reply.name,
            to=reply.contact.email,
            context=reply.context,
            language=reply.contact.language,
        )
    except TRANSIENT_SEND_ERRORS:
        Contact.objects.filter(pk=reply.contact.pk, transactional_sent_at=now).update(
            transactional_sent_at=reply.previous[0]
        )
        # Back in the outbox for the next run (later than this one's start, so a
        # long outage cannot spin this run).
        Subscription.objects.filter(pk=reply.subscription.pk).update(
            confirmation_sent_at=reply.previous[1], reply_requested_at=timezone.now()
        )
        raise
    return True
