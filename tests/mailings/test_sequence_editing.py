"""Editing a sequence: steps listed compactly with their order, delay and sent and
clicked counts; one step edited at a time on its own page, with preview and test;
delays in days and hours."""

import datetime as dt

import pytest
from anymail.signals import EventType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailings.admin_sequences import delay_text
from mailings.models import Delivery, Step

from .factories import SequenceFactory, StepFactory, SubscriptionFactory, record_event

pytestmark = pytest.mark.django_db


def _sent(step, count):
    deliveries = []
    for _ in range(count):
        subscription = SubscriptionFactory(mailing_list=step.sequence.mailing_list)
        deliveries.append(
            Delivery.objects.create(
                step=step,
                contact=subscription.contact,
                subscription=subscription,
                status=Delivery.Status.SENT,
                sent_at=timezone.now(),
            )
        )
    return deliveries


def test_the_steps_are_listed_compactly_with_their_counts(admin_client, settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    sequence = SequenceFactory(name="Atelier en cinq jours")
    one = StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Écouter")
    two = StepFactory(
        sequence=sequence, position=2, delay=dt.timedelta(days=2, hours=6), subject="Demander"
    )
    first = _sent(one, 3)
    _sent(two, 1)
    record_event(first[0], EventType.CLICKED, timezone.now(), "c0", url="https://x.fr/")
    record_event(first[0], EventType.CLICKED, timezone.now(), "c1", url="https://x.fr/")
    record_event(first[1], EventType.CLICKED, timezone.now(), "c2", url="https://x.fr/")

    admin_client.get(f"/admin/mailings/sequence/{sequence.pk}/change/")  # content types read
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(f"/admin/mailings/sequence/{sequence.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    rows = html[html.index("Écouter") - 600 : html.index("Demander") + 900]
    assert "0 heure" in rows and "2 jours 6 heures" in rows
    cells = [c.split("</p>")[0] for c in rows.split("<p>")[1:]]
    assert ["3", "2"] == [c for c in cells if c in ("3", "2")][:2]  # sent, readers who clicked
    assert f"/admin/mailings/step/{one.pk}/change/" in html
    assert 'name="steps-0-body"' not in html  # bodies are edited one step at a time

    for position in range(3, 8):
        StepFactory(sequence=sequence, position=position, subject=f"Étape {position}")
    with CaptureQueriesContext(connection) as again:
        admin_client.get(f"/admin/mailings/sequence/{sequence.pk}/change/")
    assert len(again) == len(captured)


def test_one_step_on_its_own_page_with_preview_test_and_days_and_hours(admin_client):
    step = StepFactory(position=1, delay=dt.timedelta(days=1, hours=12), subject="Écouter")
    page = admin_client.get(f"/admin/mailings/step/{step.pk}/change/").content.decode()
    assert 'name="delay_0" value="1"' in page and 'name="delay_1" value="12"' in page
    assert f"/admin/mailings/sequence/{step.sequence_id}/etapes/{step.pk}/apercu/" in page
    assert f'id="step-test-form-{step.pk}"' in page
    assert "2 00:00:00" not in page and "« 2 00:00:00 »" not in page
    data = {
        "sequence": step.sequence_id,
        "position": "1",
        "delay_0": "3",
        "delay_1": "4",
        "subject": "Écouter, vraiment",
        "preheader": "",
        "body": step.body,
        "window_start": "08:00",
        "window_end": "20:00",
    }
    response = admin_client.post(f"/admin/mailings/step/{step.pk}/change/", data)
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.delay == dt.timedelta(days=3, hours=4) and step.subject == "Écouter, vraiment"
    bad = admin_client.post(f"/admin/mailings/step/{step.pk}/change/", {**data, "delay_1": "30"})
    assert bad.status_code == 200 and Step.objects.get().delay == dt.timedelta(days=3, hours=4)


def test_delays_read_in_days_and_hours():
    assert delay_text(dt.timedelta(hours=1)) == "1 heure"
    assert delay_text(dt.timedelta(0)).startswith("0 heure")
    assert delay_text(dt.timedelta(days=1)) == "1 jour"
    assert delay_text(dt.timedelta(days=2, hours=3)) == "2 jours 3 heures"


@pytest.mark.parametrize(
    "url", ["/admin/mailings/step/abc/change/", "/admin/mailings/step/999/change/"]
)
def test_a_malformed_step_id_is_not_an_error(admin_client, url):
    assert admin_client.get(url, follow=True).status_code in (200, 404)
