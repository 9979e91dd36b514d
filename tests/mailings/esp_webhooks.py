"""Posting ESP webhooks as each ESP does (payload shapes from anymail's own test suite)."""

import base64
import hashlib
import hmac
import json
import time

from django.conf import settings
from django.utils import timezone

from mailings.models import Delivery

from .factories import ContactFactory, MailingFactory, SubscriptionFactory

SECRET = "pouls:bonne-phrase-secrete"
MAILGUN_SIGNING_KEY = "key-mailgun-signing"
BACKENDS = {
    "amazon_ses": "anymail.backends.amazon_ses.EmailBackend",
    "brevo": "anymail.backends.brevo.EmailBackend",
    "mailgun": "anymail.backends.mailgun.EmailBackend",
    "postmark": "anymail.backends.postmark.EmailBackend",
    "sendgrid": "anymail.backends.sendgrid.EmailBackend",
}


def use_esp(esp: str, secret: str | None = SECRET, **anymail) -> None:
    """Configure `esp` as the EMAIL_BACKEND. Call it inside a test: the `settings`
    fixture (autouse in tests/mailings/conftest.py) puts everything back afterwards."""
    settings.EMAIL_BACKEND = BACKENDS[esp]
    settings.ANYMAIL = {
        **({"WEBHOOK_SECRET": secret} if secret else {}),
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
        **anymail,
    }


def auth(secret=SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def sent_delivery(esp_id: str = "", *, subscription=None) -> Delivery:
    """A delivery sent to a new subscriber, or to `subscription` (another mailing)."""
    subscription = subscription or SubscriptionFactory(contact=ContactFactory())
    contact = subscription.contact
    mailing = MailingFactory(lists=[subscription.mailing_list])
    delivery = Delivery.objects.create(
        mailing=mailing,
        contact=contact,
        subscription=subscription,
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        esp_message_id=esp_id,
    )
    if not esp_id:
        delivery.esp_message_id = f"delivery-{delivery.pk}@pouls.example"
        delivery.save(update_fields=["esp_message_id"])
    return delivery


def post(client, esp: str, body, *, secret=SECRET, kind="tracking", raw=False, **headers):
    data = body if raw else json.dumps(body)
    headers.setdefault("content_type", "application/json")
    return client.post(
        f"/webhooks/anymail/{esp}/{kind}/", data, **(auth(secret) if secret else {}), **headers
    )


def mailgun_signed(event_data: dict, token: str | None = None, key=MAILGUN_SIGNING_KEY) -> dict:
    timestamp = str(int(time.time()))
    token = token or hashlib.sha256(json.dumps(event_data, sort_keys=True).encode()).hexdigest()
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": event_data,
    }


def mailgun_event(event: str, delivery, **extra) -> dict:
    data = {
        "event": event,
        "id": f"{event}-{delivery.pk}",
        "timestamp": time.time(),
        "recipient": delivery.contact.email,
        "tags": [f"mailing-{delivery.mailing_id}"],
        "user-variables": {"delivery_id": str(delivery.pk), "mailing_id": str(delivery.mailing_id)},
        "message": {
            "headers": {"message-id": delivery.esp_message_id, "to": delivery.contact.email}
        },
        "delivery-status": {"message": "", "code": 250, "description": ""},
    }
    data.update(extra)
    return data


def ses(client, ses_event: dict, sns_id: str, *, secret=SECRET):
    """An SNS notification carrying an SES event (SNS posts JSON as text/plain)."""
    message = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": "arn:aws:sns:eu-west-3:123456789012:pouls-ses-events",
        "Message": json.dumps(ses_event) + "\n",
        "Timestamp": "2026-04-27T17:58:59.675Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE-SIGNATURE==",
    }
    return post(
        client,
        "amazon_ses",
        message,
        secret=secret,
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_ID=sns_id,
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
    )


def ses_mail(delivery) -> dict:
    return {
        "timestamp": "2026-04-27T14:59:38.237Z",
        "source": "bonjour@pouls.example",
        "messageId": delivery.esp_message_id,
        "destination": [delivery.contact.email],
        "headers": [{"name": "X-Metadata", "value": json.dumps({"delivery_id": str(delivery.pk)})}],
    }
