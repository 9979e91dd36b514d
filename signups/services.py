"""Writes that change who may be mailed. Each announces itself through
`signups.signals` so that `mailings` can enrol readers or cancel pending sends."""

import logging

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import signals
from .fastpaths import signup_cursor
from .models import (
    Answer,
    Consent,
    Contact,
    MailingList,
    PendingSignup,
    Subscription,
    email_hash,
)
from .suppression import is_suppressed
from .wakeup import reply_sender_wake

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
    worker decides what, if anything, to send (`replies.signup_replies_send`). Nothing of a
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
