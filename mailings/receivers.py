"""Listening to `signups` (which never imports us) and to anymail's inbound signal
(tracking events are recorded by the webhook view itself: mailings/webhooks.py)."""

from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from articles.cache import pages_invalidate
from signups import signals

from . import pausing, services
from .models import Delivery, Enrolment, Event, Reply, Sequence, Step


@receiver(signals.subscription_confirmed, dispatch_uid="mailings.enrol")
def enrol_on_confirmation(sender, subscription, **kwargs):
    services.enrolment_start(subscription=subscription)


@receiver(signals.subscription_ended, dispatch_uid="mailings.subscription_ended")
def stop_on_unsubscribe(sender, subscription, reason="", **kwargs):
    services.enrolments_stop(
        contact_id=subscription.contact_id,
        mailing_list_id=subscription.mailing_list_id,
        reason=Enrolment.StopReason.UNSUBSCRIBED,
    )
    services.deliveries_cancel_pending(
        contact_id=subscription.contact_id,
        subscription_id=subscription.pk,
        reason=_("désinscrit·e avant l’envoi"),
    )


@receiver(signals.contacts_suppressed, dispatch_uid="mailings.contacts_suppressed")
def stop_on_suppression(sender, contact_ids, reason="", **kwargs):
    services.enrolments_stop(contact_ids=contact_ids, reason=Enrolment.StopReason.SUPPRESSED)
    services.deliveries_cancel_pending(
        contact_ids=contact_ids, reason=_("contact bloqué avant l’envoi")
    )


def _replies_of(contact):
    """The contact's replies, and those from their address stored before it was a
    contact's (no contact then): their data too, exported and erased with the rest."""
    mine = Q(contact_id=contact.pk)
    if contact.email:
        mine |= Q(contact__isnull=True, from_email__iexact=contact.email)
    return Reply.objects.filter(mine)


@receiver(signals.contact_erased, dispatch_uid="mailings.contact_erased")
def forget_contact(sender, contact, **kwargs):
    services.deliveries_cancel_pending(contact_id=contact.pk, reason=_("contact effacé"))
    Enrolment.objects.filter(contact_id=contact.pk).delete()
    _replies_of(contact).delete()
    Delivery.objects.filter(contact_id=contact.pk).update(esp_message_id="", error="")
    Event.objects.filter(delivery__contact_id=contact.pk).update(detail="")


@receiver(signals.contact_exporting, dispatch_uid="mailings.contact_exporting")
def export_contact(sender, contact, **kwargs):
    deliveries = Delivery.objects.filter(contact_id=contact.pk).select_related("mailing", "step")
    return {
        "mailings": {
            "deliveries": [
                {
                    "message": str(d.mailing or d.step),
                    "status": d.status,
                    "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                }
                for d in deliveries
            ],
            "sequences": [
                {"sequence": e.sequence.name, "status": e.status, "position": e.position}
                for e in Enrolment.objects.filter(contact_id=contact.pk).select_related("sequence")
            ],
            "events": [
                {"kind": ev.kind, "at": ev.occurred_at.isoformat()}
                for ev in Event.objects.filter(delivery__contact_id=contact.pk)
            ],
            "replies": [
                {
                    "received_at": r.received_at.isoformat(),
                    "subject": r.subject,
                    "text": r.text,
                    "answer": r.answer,
                    "attachments": [a.filename for a in r.attachments.all()],
                }
                for r in _replies_of(contact).prefetch_related("attachments")
            ],
        }
    }


def on_inbound(sender, event, esp_name, **kwargs):
    """An email to the List-Unsubscribe mailbox unsubscribes; one to the reply address
    goes to the replies inbox (mailings.replies)."""
    from . import replies

    return replies.inbound_receive(event, esp_name=esp_name)


@receiver(signals.welcome_emails_count, dispatch_uid="mailings.welcome_emails_count")
def count_welcome_emails(sender, mailing_list, **kwargs):
    from .models import Step

    return Step.objects.filter(
        sequence__mailing_list=mailing_list, sequence__is_active=True
    ).count()


@receiver(signals.contact_sequences, dispatch_uid="mailings.contact_sequences")
def sequences_progress(sender, contact, **kwargs):
    return pausing.contact_progress(contact_id=contact.pk)


@receiver(signals.sequence_pause_requested, dispatch_uid="mailings.sequence_pause")
def pause_or_resume(sender, contact, sequence_id, pause, **kwargs):
    change = pausing.enrolment_pause if pause else pausing.enrolment_resume
    enrolment = change(contact_id=contact.pk, sequence_id=sequence_id)
    if enrolment is None:
        return None
    return {"mailing_list": enrolment.sequence.mailing_list, "sequence": enrolment.sequence.name}


@receiver(signals.list_syllabus, dispatch_uid="mailings.list_syllabus")
def list_syllabus(sender, mailing_list, **kwargs):
    """The lessons of the list's active sequence (the oldest, when it has several)."""
    sequence = (
        Sequence.objects.filter(mailing_list=mailing_list, is_active=True)
        .order_by("created_at", "pk")
        .first()
    )
    if sequence is None:
        return None
    steps = sequence.steps.order_by("position").values_list("subject", "delay", "weekdays_only")
    return [
        {"title": subject, "delay": delay, "weekdays_only": weekdays}
        for subject, delay, weekdays in steps
    ]


@receiver([post_save, post_delete], sender=Sequence, dispatch_uid="mailings.pages_sequence")
@receiver([post_save, post_delete], sender=Step, dispatch_uid="mailings.pages_step")
def invalidate_list_pages(**kwargs):
    """A list page shows its sequence's lessons and rhythm: a cached copy is now stale."""
    pages_invalidate()
    transaction.on_commit(pages_invalidate)
