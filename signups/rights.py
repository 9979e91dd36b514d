"""The data rights of EU law and the retention rules: export, erasure, the link to
them sent on request, and the daily handlers that purge unconfirmed signups and ask
inactive readers to consent again."""

from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from config.links import absolute

from . import emails, signals, tokens
from .models import (
    Answer,
    Consent,
    Contact,
    PendingSignup,
    Subscription,
    Suppression,
    email_hash,
)
from .services import _lock, subscription_unsubscribe

UNCONFIRMED_TTL = timedelta(days=30)
INACTIVE_AFTER = timedelta(days=3 * 365)
RECONSENT_GRACE = timedelta(days=30)


def data_link_request(*, contact: Contact) -> None:
    """Send the address a fresh link to its data (export, erasure), after commit."""
    from .tasks import send_data_link

    send_data_link.delay_on_commit(contact.pk)


def data_link_send(*, contact_id: int) -> bool:
    """The data link goes to the address only, never to whoever asked for it."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None or not contact.email or contact.erased_at:
        return False
    emails.send(
        name="data_link",
        to=contact.email,
        context={
            "url": tokens.data_url(contact),
            "minutes": int(tokens.DATA_LINK_MAX_AGE.total_seconds() // 60),
        },
        language=contact.language,
    )
    return True


def _iso(value):
    return value.isoformat() if value else None


def contact_export(*, contact: Contact) -> dict:
    """Everything held about one contact, as JSON-serialisable data (GDPR art. 15, 20)."""
    data = {
        "contact": {
            "email": contact.email,
            "first_name": contact.first_name,
            "profile": contact.profile,
            "time_zone": contact.time_zone,
            "language": contact.language,
            "source": contact.source,
            "created_at": _iso(contact.created_at),
            "last_activity_at": _iso(contact.last_activity_at),
            "suppressed_at": _iso(contact.suppressed_at),
            "suppression_reason": contact.suppression_reason,
            "click_tracking_refused": contact.click_tracking_refused,
        },
        "subscriptions": [
            {
                "list": s.mailing_list.slug,
                "list_name": s.mailing_list.name,
                "status": s.status,
                "created_at": _iso(s.created_at),
                "confirmation_sent_at": _iso(s.confirmation_sent_at),
                "confirmed_at": _iso(s.confirmed_at),
                "unsubscribed_at": _iso(s.unsubscribed_at),
            }
            for s in contact.subscriptions.select_related("mailing_list").order_by("pk")
        ],
        "consents": [
            {
                "list": c.mailing_list.slug if c.mailing_list else None,
                "text": c.text,
                "version": c.version,
                "form": c.form,
                "given_at": _iso(c.given_at),
                "ip_address": c.ip_address,
                "user_agent": c.user_agent,
            }
            for c in contact.consents.select_related("mailing_list").order_by("pk")
        ],
        "answers": [
            {"question": str(Answer.QUESTION), "text": a.text, "created_at": _iso(a.created_at)}
            for a in contact.answers.order_by("pk")
        ],
        "signups_to_confirm": [
            {
                "list": p.subscription.mailing_list.slug,
                "first_name": p.first_name,
                "profile": p.profile,
                "answer": p.answer,
                "form": p.form,
                "ip_address": p.ip_address,
                "user_agent": p.user_agent,
                "submitted_at": _iso(p.submitted_at),
            }
            for p in PendingSignup.objects.filter(subscription__contact=contact)
            .select_related("subscription__mailing_list")
            .order_by("pk")
        ],
        "interview_applications": [
            {
                "company": a.company,
                "activity": a.activity,
                "city": a.city,
                "country": a.country,
                "story": a.story,
                "status": a.status,
                "created_at": _iso(a.created_at),
            }
            for a in contact.interview_applications.order_by("pk")
        ],
    }
    for _receiver, extra in signals.contact_exporting.send(sender=Contact, contact=contact):
        if isinstance(extra, dict):
            data.update(extra)
    return data


@transaction.atomic
def contact_erase(*, contact: Contact, reason: str = "erased") -> Contact:
    """Wipe the contact's personal data; only the hash of the address stays, suppressed."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.erased_at:
        return contact
    signals.contact_erased.send(sender=Contact, contact=contact)
    for subscription in contact.subscriptions.exclude(status=Subscription.Status.UNSUBSCRIBED):
        subscription_unsubscribe(subscription=subscription, reason="erased")
    if contact.email:
        Suppression.objects.get_or_create(
            email_hash=email_hash(contact.email), defaults={"reason": reason}
        )
    contact.consents.all().delete()
    contact.answers.all().delete()
    PendingSignup.objects.filter(subscription__contact=contact).delete()
    contact.interview_applications.all().delete()
    now = timezone.now()
    Contact.objects.filter(pk=contact.pk).update(
        email=None,
        first_name="",
        profile="",
        time_zone=settings.TIME_ZONE,
        language="fr",
        source="",
        last_activity_at=None,
        inactive_flagged_at=None,
        transactional_sent_at=None,
        suppressed_at=contact.suppressed_at or now,
        suppression_reason=contact.suppression_reason or reason,
        erased_at=now,
    )
    contact.refresh_from_db()
    return contact


# --- periodic work (daily_handlers) -------------------------------------------------


def subscriptions_purge_unconfirmed() -> int:
    """Forget signups never confirmed within 30 days, and contacts left with nothing."""
    cutoff = timezone.now() - UNCONFIRMED_TTL
    stale = Subscription.objects.filter(status=Subscription.Status.PENDING, created_at__lt=cutoff)
    purged = 0
    for subscription in stale.iterator():
        with transaction.atomic():
            locked = _lock(subscription.pk)
            if locked is None or locked.status != Subscription.Status.PENDING:
                continue  # confirmed meanwhile
            if locked.created_at >= cutoff:
                continue  # signed up again meanwhile
            Consent.objects.filter(
                contact_id=subscription.contact_id, mailing_list_id=subscription.mailing_list_id
            ).delete()
            Answer.objects.filter(
                contact_id=subscription.contact_id, mailing_list_id=subscription.mailing_list_id
            ).delete()
            subscription.delete()
            Contact.objects.filter(
                pk=subscription.contact_id,
                subscriptions__isnull=True,
                interview_applications__isnull=True,
                erased_at__isnull=True,
            ).delete()
        purged += 1
    # What re-signups submitted and no confirmation ever applied (the subscriptions
    # they were for went on without them).
    PendingSignup.objects.filter(submitted_at__lt=cutoff).delete()
    return purged


def contacts_review_inactive() -> dict:
    """3 years without confirmation, form or click: ask once more, then erase.

    Opens do not count (mailings records clicks into `last_activity_at`).
    """
    from .tasks import send_reconsent_email

    now = timezone.now()
    cutoff = now - INACTIVE_AFTER
    inactive = Contact.objects.filter(
        erased_at__isnull=True, inactive_flagged_at__isnull=True
    ).filter(
        models.Q(last_activity_at__lt=cutoff)
        | models.Q(last_activity_at__isnull=True, created_at__lt=cutoff)
    )
    flagged = 0
    for contact_id in inactive.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            Contact.objects.filter(pk=contact_id).update(inactive_flagged_at=now)
            send_reconsent_email.delay_on_commit(contact_id)
        flagged += 1
    unanswered = Contact.objects.filter(
        erased_at__isnull=True, inactive_flagged_at__lt=now - RECONSENT_GRACE
    )
    erased = 0
    for contact in unanswered.iterator():
        contact_erase(contact=contact, reason="inactive")
        erased += 1
    return {"flagged": flagged, "erased": erased}


def reconsent_email_send(*, contact_id: int) -> bool:
    """The last request before erasure, to readers still subscribed to something; it is
    not rate-limited away (it is sent once)."""
    contact = Contact.objects.filter(pk=contact_id, inactive_flagged_at__isnull=False).first()
    # Someone who left every list is not written to again: their data just expires.
    if contact is None or not contact.is_sendable or not contact.subscriptions.mailable().exists():
        return False
    Contact.objects.filter(pk=contact.pk).update(transactional_sent_at=timezone.now())
    emails.send(
        name="reconsent",
        to=contact.email,
        context={
            "url": absolute(
                reverse("signups:reconsent", args=[tokens.make_token("preferences", contact.pk)])
            ),
            "preferences_url": tokens.preferences_url(contact),
            "erase_after_days": RECONSENT_GRACE.days,
        },
        language=contact.language,
    )
    return True
