"""What mailings holds about a contact: part of the export, cancelled and forgotten on erasure."""

import pytest
from django.utils import timezone

from mailings import services
from mailings.models import Delivery, Enrolment
from signups import signals
from signups.models import Contact

from .factories import MailingFactory, SequenceFactory, StepFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def test_export_lists_deliveries_and_sequences_and_erasure_cancels_pending_sends():
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1)
    subscription = SubscriptionFactory(mailing_list=sequence.mailing_list)
    services.enrolment_start(subscription=subscription)
    contact = subscription.contact
    sent_mailing = MailingFactory(lists=[subscription.mailing_list], subject="Déjà parti")
    pending_mailing = MailingFactory(lists=[subscription.mailing_list], subject="Pas encore")
    Delivery.objects.create(
        mailing=sent_mailing,
        contact=contact,
        subscription=subscription,
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        esp_message_id="abc@esp",
    )
    pending = Delivery.objects.create(
        mailing=pending_mailing, contact=contact, subscription=subscription
    )

    sections = {}
    for _receiver, answer in signals.contact_exporting.send(sender=Contact, contact=contact):
        sections.update(answer or {})
    exported = sections["mailings"]
    assert {d["message"] for d in exported["deliveries"]} == {"Déjà parti", "Pas encore"}
    assert exported["sequences"] == [{"sequence": sequence.name, "status": "active", "position": 0}]

    signals.contact_erased.send(sender=Contact, contact=contact)
    pending.refresh_from_db()
    assert pending.status == Delivery.Status.SKIPPED
    assert not Enrolment.objects.filter(contact=contact).exists()
    assert not Delivery.objects.exclude(esp_message_id="").exists()
