"""A contact's page: subscriptions, consent evidence, answers, and every email sent to
them with its status and events, in queries that do not grow with the emails."""

import pytest
from anymail.signals import EventType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailings.models import Delivery
from signups.models import Answer, Consent

from .factories import (
    MailingFactory,
    SequenceFactory,
    StepFactory,
    SubscriptionFactory,
    record_event,
)

pytestmark = pytest.mark.django_db


def _delivery(subscription, **message):
    return Delivery.objects.create(
        contact=subscription.contact,
        subscription=subscription,
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        **message,
    )


def _page(client, contact):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/admin/signups/contact/{contact.pk}/change/")
    assert response.status_code == 200
    return response.content.decode(), len(captured)


def test_a_contacts_page_shows_every_email_with_its_events(admin_client, settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    subscription = SubscriptionFactory()
    contact = subscription.contact
    Consent.objects.create(
        contact=contact,
        mailing_list=subscription.mailing_list,
        text="J’accepte de recevoir la newsletter.",
        version=3,
        form="newsletter:pied-de-page",
    )
    Answer.objects.create(
        contact=contact, mailing_list=subscription.mailing_list, text="Trouver mes clients"
    )
    mailing = MailingFactory(subject="Les trois questions")
    step = StepFactory(
        sequence=SequenceFactory(name="Atelier en cinq jours"), subject="Jour 1 : écouter"
    )
    sent = _delivery(subscription, mailing=mailing)
    _delivery(subscription, step=step)
    record_event(sent, EventType.DELIVERED, timezone.now(), "d1")
    record_event(sent, EventType.CLICKED, timezone.now(), "c1", url="https://x.fr/")

    _page(admin_client, contact)  # Django reads the content types once per process
    html, queries = _page(admin_client, contact)
    assert "Les trois questions" in html and "Atelier en cinq jours" in html
    assert "Jour 1 : écouter" in html
    assert "délivré (" in html and "cliqué (" in html
    assert "newsletter:pied-de-page" in html and "Trouver mes clients" in html

    for i in range(5):
        _delivery(subscription, mailing=MailingFactory(subject=f"Mailing {i}"))
    html, more = _page(admin_client, contact)
    assert "Mailing 4" in html and more == queries


def test_a_contacts_page_with_a_malformed_id_is_not_an_error(admin_client):
    response = admin_client.get("/admin/signups/contact/abc/change/", follow=True)
    assert response.status_code in (200, 404)
