"""The worst webhook body we accept: MAIL_WEBHOOK_MAX_EVENTS SendGrid events (a JSON
array, SendGrid's batch format) in one request, each naming a different delivery.

Timed: the whole request through Django (authentication, anymail's parser, recipient
checks, recording in one transaction, and the actions). Printed beside, same run: the
json.loads of the same body (what reading it costs at least) and gunicorn's worker
timeout, which the request must stay well within. Two bodies: all `delivered` (recording
only), and all hard bounces (each contact suppressed: the most work per event)."""

import json
import os
import time

import pytest
from django.utils import timezone

from mailings.models import Delivery, Event
from signups.models import Contact
from tests.mailings.esp_webhooks import auth, use_esp
from tests.mailings.factories import MailingFactory, subscribers

from . import report

pytestmark = [pytest.mark.perf, pytest.mark.django_db]
GUNICORN_TIMEOUT = int(os.environ.get("GUNICORN_TIMEOUT", "30"))


def deliveries(count):
    subscriptions = subscribers(count)
    mailing = MailingFactory(lists=[subscriptions[0].mailing_list])
    now = timezone.now()
    rows = Delivery.objects.bulk_create(
        Delivery(
            mailing=mailing,
            contact_id=s.contact_id,
            subscription=s,
            status=Delivery.Status.SENT,
            sent_at=now,
        )
        for s in subscriptions
    )
    emails = dict(Contact.objects.values_list("pk", "email"))
    return [(d, emails[d.contact_id]) for d in rows]


def body(rows, event, **extra):
    return json.dumps(
        [
            {
                "email": email,
                "timestamp": 1777300000,
                "event": event,
                "sg_event_id": f"bench-{event}-{d.pk}",
                "sg_message_id": f"bench.{d.pk}.filter0001",
                "delivery_id": str(d.pk),
                **extra,
            }
            for d, email in rows
        ]
    )


@pytest.mark.parametrize("event", ["delivered", "bounce"])
def test_worst_accepted_webhook_body(client, settings, event):
    use_esp("sendgrid")
    count = settings.MAIL_WEBHOOK_MAX_EVENTS
    rows = deliveries(count)
    extra = {"type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 User unknown"}
    payload = body(rows, event, **(extra if event == "bounce" else {}))

    started = time.perf_counter()
    json.loads(payload)
    parse = time.perf_counter() - started

    started = time.perf_counter()
    response = client.post(
        "/webhooks/anymail/sendgrid/tracking/", payload, content_type="application/json", **auth()
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert Event.objects.count() == count
    print(
        f"\nwebhook, {count} SendGrid « {event} » events ({len(payload) / 1e6:.1f} MB): "
        f"{elapsed:.2f} s for the request; json.loads alone {parse * 1000:.0f} ms; "
        f"gunicorn timeout {GUNICORN_TIMEOUT} s"
    )
    report.record(
        f"webhooks.{event}",
        f"webhook, {count:,} SendGrid « {event} » events in one request",
        elapsed,
        "s",
        parse,
        "json.loads alone",
        f"< {GUNICORN_TIMEOUT}",
    )
