"""ESP tracking webhooks: real payload shapes from Postmark and Mailgun, posted to our endpoint."""

import json

import pytest

from mailings.models import Event
from signups.models import Subscription

from .esp_webhooks import mailgun_event, mailgun_signed, sent_delivery, use_esp
from .esp_webhooks import post as post_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def postmark_esp():
    use_esp("postmark")


@pytest.fixture
def mailgun_esp():
    use_esp("mailgun")


def postmark(client, payload, secret=None):
    return post_webhook(client, "postmark", payload, **({"secret": secret} if secret else {}))


def mailgun(client, event_data, token=None):
    return post_webhook(client, "mailgun", mailgun_signed(event_data, token))


def test_postmark_delivery_open_click_and_hard_bounce(client, postmark_esp):
    delivery = sent_delivery("883953f4-6105-42a2-a16a-77a8eac79483")
    contact = delivery.contact
    delivered = {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Recipient": contact.email,
        "Tag": f"mailing-{delivery.mailing_id}",
        "Metadata": {"mailing_id": str(delivery.mailing_id), "delivery_id": str(delivery.pk)},
        "DeliveredAt": "2026-04-27T16:28:10.2735393-04:00",
        "Details": "Test delivery webhook details",
    }
    assert postmark(client, delivered).status_code == 200
    assert postmark(client, delivered).status_code == 200  # the ESP retries: recorded once
    opened = {
        "RecordType": "Open",
        "FirstOpen": True,
        "Client": {"Name": "Gmail", "Company": "Google", "Family": "Gmail"},
        "OS": {"Name": "unknown", "Company": "unknown", "Family": "unknown"},
        "Platform": "Unknown",
        "UserAgent": "Mozilla/5.0",
        "ReadSeconds": 0,
        "Geo": {},
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ReceivedAt": "2026-04-27T16:31:41.2493688-04:00",
        "Recipient": contact.email,
    }
    assert postmark(client, opened).status_code == 200
    clicked = {
        "RecordType": "Click",
        "ClickLocation": "HTML",
        "Platform": "Desktop",
        "UserAgent": "Mozilla/5.0",
        "OriginalLink": "https://pouls.example/atelier/",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ReceivedAt": "2026-04-27T19:21:11.9065619Z",
        "Tag": f"mailing-{delivery.mailing_id}",
        "Recipient": contact.email,
    }
    assert postmark(client, clicked).status_code == 200
    contact.refresh_from_db()
    assert contact.last_activity_at is not None and contact.suppressed_at is None

    bounce = {
        "RecordType": "Bounce",
        "ID": 901542550,
        "Type": "HardBounce",
        "TypeCode": 1,
        "ServerID": 23,
        "Name": "Hard bounce",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": contact.email,
        "From": "bonjour@pouls.example",
        "BouncedAt": "2026-04-28T16:28:50.3963933-04:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Postmark event test",
    }
    assert postmark(client, bounce).status_code == 200
    contact.refresh_from_db()
    assert contact.suppressed_at is not None and contact.suppression_reason == "hard_bounce"
    stats = delivery.mailing.stats()
    assert stats == {
        "delivered": 1,
        "bounced": 1,
        "complained": 0,
        "unsubscribed": 0,
        "opened": 1,
        "clicked": 1,
    }
    # Opens are counted for the mailing, not recorded per reader (MAIL_TRACK_OPENS is off).
    assert Event.objects.get(kind="opened").delivery is None
    assert Event.objects.get(kind="clicked").delivery == delivery


def test_postmark_soft_bounce_does_not_suppress_and_opens_per_reader_when_enabled(
    client, settings, postmark_esp
):
    settings.MAIL_TRACK_OPENS = True
    delivery = sent_delivery("2706ee8a-737c-4285-b032-ccd317af53ed")
    soft = {
        "RecordType": "Bounce",
        "ID": 42,
        "Type": "SoftBounce",
        "TypeCode": 4096,
        "Name": "Soft bounce",
        "MessageID": "2706ee8a-737c-4285-b032-ccd317af53ed",
        "Description": "Mailbox full",
        "Details": "smtp;452 4.2.2 Mailbox full",
        "Email": delivery.contact.email,
        "BouncedAt": "2026-04-27T16:28:50Z",
        "Inactive": False,
        "CanActivate": True,
    }
    assert postmark(client, soft).status_code == 200
    opened = {
        "RecordType": "Open",
        "FirstOpen": True,
        "MessageID": "2706ee8a-737c-4285-b032-ccd317af53ed",
        "ReceivedAt": "2026-04-27T16:31:41Z",
        "Recipient": delivery.contact.email,
        "UserAgent": "x",
    }
    assert postmark(client, opened).status_code == 200
    delivery.contact.refresh_from_db()
    assert delivery.contact.suppressed_at is None
    assert Event.objects.get(kind="opened").delivery == delivery


def test_postmark_complaint_and_unsubscribe(client, postmark_esp):
    complained = sent_delivery("c0ffee00-0000-4000-8000-000000000001")
    leaving = sent_delivery("c0ffee00-0000-4000-8000-000000000002")
    spam = {
        "RecordType": "SpamComplaint",
        "ID": 901542551,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "MessageID": "c0ffee00-0000-4000-8000-000000000001",
        "ServerID": 1234,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": complained.contact.email,
        "From": "bonjour@pouls.example",
        "BouncedAt": "2026-04-27T16:28:50.3963933-04:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "Postmark event test",
    }
    change = {
        "RecordType": "SubscriptionChange",
        "MessageID": "c0ffee00-0000-4000-8000-000000000002",
        "ServerID": 23,
        "MessageStream": "broadcast",
        "ChangedAt": "2026-06-05T17:17:32Z",
        "Recipient": leaving.contact.email,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
        "Tag": "mailing",
        "Metadata": {"delivery_id": str(leaving.pk)},
    }
    assert postmark(client, spam).status_code == 200
    assert postmark(client, change).status_code == 200
    complained.contact.refresh_from_db()
    assert complained.contact.suppression_reason == "complaint"
    assert (
        Subscription.objects.get(pk=leaving.subscription_id).status
        == Subscription.Status.UNSUBSCRIBED
    )


def test_wrong_secret_is_refused_and_records_nothing(client, postmark_esp):
    delivery = sent_delivery("883953f4-6105-42a2-a16a-77a8eac79483")
    spam = {
        "RecordType": "SpamComplaint",
        "ID": 7,
        "Type": "SpamComplaint",
        "MessageID": delivery.esp_message_id,
        "Email": delivery.contact.email,
        "BouncedAt": "2026-04-27T16:28:50Z",
    }
    assert postmark(client, spam, secret="pouls:mauvais").status_code == 401
    response = client.post(
        "/webhooks/anymail/postmark/tracking/", json.dumps(spam), content_type="application/json"
    )
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")
    assert Event.objects.count() == 0
    delivery.contact.refresh_from_db()
    assert delivery.contact.suppressed_at is None


def test_mailgun_delivered_click_permanent_failure_complaint_unsubscribe_and_dedup(
    client, mailgun_esp
):
    one = sent_delivery("20260427161231.1.ABC@mg.pouls.example")
    two = sent_delivery("20260427161231.2.DEF@mg.pouls.example")
    three = sent_delivery("20260427161231.3.GHI@mg.pouls.example")
    assert mailgun(client, mailgun_event("delivered", one), token="t-1").status_code == 200
    assert (
        mailgun(client, mailgun_event("delivered", one), token="t-1").status_code == 200
    )  # duplicate
    assert (
        mailgun(
            client, mailgun_event("clicked", one, url="https://pouls.example/"), token="t-2"
        ).status_code
        == 200
    )
    assert mailgun(client, mailgun_event("opened", one), token="t-7").status_code == 200
    failed = mailgun_event(
        "failed",
        one,
        severity="permanent",
        reason="bounce",
        **{
            "delivery-status": {
                "message": "5.1.1 No such user",
                "code": 550,
                "description": "Not delivered",
            }
        },
    )
    assert mailgun(client, failed, token="t-3").status_code == 200
    assert mailgun(client, mailgun_event("complained", two), token="t-4").status_code == 200
    assert mailgun(client, mailgun_event("unsubscribed", three), token="t-5").status_code == 200
    temporary = mailgun_event("failed", three, severity="temporary", reason="generic")
    assert mailgun(client, temporary, token="t-6").status_code == 200

    for delivery in (one, two, three):
        delivery.contact.refresh_from_db()
    assert one.contact.suppression_reason == "hard_bounce"
    assert two.contact.suppression_reason == "complaint"
    assert three.contact.suppressed_at is None
    assert (
        Subscription.objects.get(pk=three.subscription_id).status
        == Subscription.Status.UNSUBSCRIBED
    )
    stats = one.mailing.stats()
    assert stats["delivered"] == 1 and stats["clicked"] == 1 and stats["opened"] == 1
    assert stats["bounced"] == 1
    # delivered, clicked, bounced per reader; the open only counted (MAIL_TRACK_OPENS off)
    assert Event.objects.filter(delivery=one).count() == 3


def test_mailgun_bad_signature_is_refused(client, mailgun_esp):
    delivery = sent_delivery("x@mg.pouls.example")
    payload = {
        "signature": {"timestamp": "1", "token": "t", "signature": "0" * 64},
        "event-data": mailgun_event("complained", delivery),
    }
    response = post_webhook(client, "mailgun", payload)
    assert response.status_code == 403  # the secret is right, the signature is not
    assert Event.objects.count() == 0
