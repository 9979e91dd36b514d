"""Applications to be interviewed, and the email that acknowledges each one.

The acknowledgement goes through the same outbox as the signup replies: the
application row asks for it (`acknowledgement_requested_at`), the wake-up task and
every tick answer it, and the send is claimed in the database before it leaves, so a
redelivered task or a retry never sends it twice.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.mail import RETRY, UNKNOWN, SendFailed

from . import emails
from .models import Consent, Contact, InterviewApplication
from .suppression import is_suppressed
from .wakeup import reply_sender_wake

logger = logging.getLogger(__name__)

# One acknowledgement per address per day, however many applications carry it (the
# form can name anybody's address).
ACKNOWLEDGEMENT_INTERVAL = timedelta(hours=24)


@transaction.atomic
def interview_apply(
    *,
    email: str,
    first_name: str,
    company: str,
    activity: str,
    city: str,
    country: str,
    story: str,
    profile: str = "",
    time_zone: str = settings.TIME_ZONE,
    consent_text: str,
    consent_version: int,
    ip_address: str | None = None,
    user_agent: str = "",
) -> InterviewApplication | None:
    """Store an application to be interviewed (nothing for a suppressed address) and
    ask, after commit, for its acknowledgement."""
    if is_suppressed(email):
        Contact.objects.filter(email=email).only("pk").first()
        return None
    now = timezone.now()
    contact, created = Contact.objects.get_or_create(
        email=email,
        defaults={
            "first_name": first_name,
            "profile": profile,
            "time_zone": time_zone,
            "source": "entretiens:candidature",
            "last_activity_at": now,
        },
    )
    if not created:
        Contact.objects.filter(pk=contact.pk).update(last_activity_at=now, inactive_flagged_at=None)
    Consent.objects.record(
        contact=contact,
        mailing_list=None,
        text=consent_text,
        version=consent_version,
        form="entretiens:candidature",
        given_at=now,
        ip_address=ip_address,
        user_agent=user_agent,
    )
    application = InterviewApplication.objects.create(
        contact=contact,
        company=company,
        activity=activity,
        city=city,
        country=country,
        story=story,
        acknowledgement_requested_at=now,
    )
    transaction.on_commit(reply_sender_wake)
    return application


def interview_acknowledgements_send() -> int:
    """Acknowledge every application waiting for it; runs from the signup replies'
    wake-up task and from every tick."""
    started = timezone.now()
    sent = 0
    given_back = set()
    while True:
        batch = list(
            InterviewApplication.objects.filter(acknowledgement_requested_at__lte=started)
            .exclude(pk__in=given_back)
            .order_by("acknowledgement_requested_at")
            .values_list("pk", flat=True)[:200]
        )
        if not batch:
            return sent
        for application_id in batch:
            try:
                sent += interview_acknowledgement_send(application_id=application_id)
            except Exception:
                given_back.add(application_id)
                logger.exception("acknowledgement of application %s failed", application_id)


def interview_acknowledgement_send(*, application_id: int) -> bool:
    """Send one application's acknowledgement, at most once: the request is cleared and
    the send recorded before the email leaves; a transient failure gives both back."""
    now = timezone.now()
    with transaction.atomic():
        application = (
            InterviewApplication.objects.select_for_update()
            .filter(pk=application_id, acknowledgement_requested_at__isnull=False)
            .first()
        )
        if application is None:
            return False  # answered by another run, or erased
        application.acknowledgement_requested_at = None
        contact = Contact.objects.get(pk=application.contact_id)
        recently = InterviewApplication.objects.filter(
            contact_id=contact.pk, acknowledged_at__gt=now - ACKNOWLEDGEMENT_INTERVAL
        ).exists()
        send = contact.is_sendable and not recently and not is_suppressed(contact.email)
        if send:
            application.acknowledged_at = now
        application.save(update_fields=["acknowledgement_requested_at", "acknowledged_at"])
    if not send:
        return False
    try:
        emails.send(
            name="application_received",
            to=contact.email,
            context={"first_name": emails.greeting_name(contact.first_name)},
            language=contact.language,
        )
    except Exception as exc:
        failure = SendFailed.of(exc)
        if failure is None:
            raise
        # « Not now »: asked again for a later run. Refused: never sent, never again.
        # Maybe accepted (UNKNOWN): recorded as sent, never resent.
        if failure.outcome != UNKNOWN:
            again = timezone.now() if failure.outcome == RETRY else None
            InterviewApplication.objects.filter(pk=application.pk, acknowledged_at=now).update(
                acknowledged_at=None, acknowledgement_requested_at=again
            )
        raise failure from exc
    return True
