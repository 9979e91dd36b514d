"""The ESP webhooks as an attacker meets them: what answers, who may post, what a forged
or malformed body does. Each attack is replayed as it once worked, and must fail."""

import base64
import json
import logging
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mailings import webhooks
from mailings.models import Event
from signups.models import Contact, Subscription, Suppression
from tests.foundation.test_settings import PRODUCTION, manage

from .esp_webhooks import (
    SECRET,
    mailgun_event,
    mailgun_signed,
    post,
    sent_delivery,
    ses,
    ses_mail,
    use_esp,
)

pytestmark = pytest.mark.django_db

ANYMAIL_PATHS = [
    "amazon_ses/tracking",
    "brevo/tracking",
    "mailgun/tracking",
    "mailjet/tracking",
    "postmark/tracking",
    "postmark/inbound",
    "resend/tracking",
    "sendgrid/tracking",
    "sendinblue/tracking",
    "sparkpost/tracking",
]


def spamreports(deliveries, *, email="attaquant@evil.example"):
    """SendGrid's event webhook format: a JSON array of events; custom args (our
    delivery_id) are merged into each event."""
    return [
        {
            "email": email or d.contact.email,
            "timestamp": 1777300000,
            "event": "spamreport",
            "sg_event_id": f"forged-{d.pk}",
            "sg_message_id": f"forged.{d.pk}.filter0001",
            "delivery_id": str(d.pk),
        }
        for d in deliveries
    ]


def nobody_suppressed():
    return (
        not Contact.objects.filter(suppressed_at__isnull=False).exists()
        and not Suppression.objects.exists()
        and not Event.objects.exists()
    )


# --- what is mounted -----------------------------------------------------------------


@pytest.mark.parametrize("path", ANYMAIL_PATHS)
def test_no_webhook_answers_without_an_anymail_backend(client, settings, path):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}  # even with a secret
    assert settings.EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"
    kind = path.split("/")[1]
    response = post(client, path.split("/")[0], {}, kind=kind)
    assert response.status_code == 404


def test_only_the_configured_esp_tracking_endpoint_answers(client, settings):
    use_esp("brevo", BREVO_API_KEY="xkeysib-test")
    delivered = {"event": "delivered", "email": "x@example.org", "ts_epoch": 1520363423000}
    assert post(client, "brevo", delivered).status_code == 200
    for path in ANYMAIL_PATHS:
        if path != "brevo/tracking":
            esp, kind = path.split("/")
            assert post(client, esp, delivered, kind=kind).status_code == 404, path
    # Its inbound endpoint only when inbound is used.
    assert post(client, "brevo", {"items": []}, kind="inbound").status_code == 404
    settings.MAIL_INBOUND_WEBHOOK = True
    assert post(client, "brevo", {"items": []}, kind="inbound").status_code == 200


def test_a_subclass_of_an_anymail_backend_mounts_its_esp(client, settings):
    use_esp("mailgun")
    settings.EMAIL_BACKEND = "mailings.fastpaths.esp.MailgunBatchBackend"
    delivery = sent_delivery()
    response = post(client, "mailgun", mailgun_signed(mailgun_event("delivered", delivery)))
    assert response.status_code == 200
    assert Event.objects.get().kind == "delivered"
    assert post(client, "postmark", {}).status_code == 404


# --- the secret ----------------------------------------------------------------------


@pytest.mark.parametrize("esp", ["brevo", "mailgun", "postmark", "sendgrid", "amazon_ses"])
def test_without_webhook_secret_every_request_is_refused(client, settings, esp):
    """Development included (the tests run as DJANGO_ENV=development): a correctly signed
    Mailgun event is refused as well."""
    use_esp(esp, secret=None)
    delivery = sent_delivery()
    bodies = {
        "brevo": {"event": "spam", "email": delivery.contact.email, "message-id": "x"},
        "mailgun": mailgun_signed(mailgun_event("complained", delivery)),
        "postmark": {"RecordType": "SpamComplaint", "Type": "SpamComplaint", "ID": 1},
        "sendgrid": spamreports([delivery], email=delivery.contact.email),
    }
    if esp == "amazon_ses":
        response = ses(client, {"notificationType": "Complaint"}, "sns-1", secret=None)
    else:
        response = post(client, esp, bodies[esp], secret=None)
    assert response.status_code == 403
    assert nobody_suppressed()
    assert "refused until WEBHOOK_SECRET is set" in webhooks.webhooks_state()


def test_the_state_is_logged_in_one_line(settings):
    assert "none mounted" in webhooks.webhooks_state()  # locmem: not anymail
    use_esp("postmark")
    assert webhooks.webhooks_state() == (
        "ESP webhooks: /webhooks/anymail/postmark/tracking/ (HTTP basic auth with WEBHOOK_SECRET)."
    )


def test_the_anonymous_sendgrid_spamreport_for_ids_1_to_n_suppresses_no_one(client):
    use_esp("sendgrid")
    deliveries = [sent_delivery() for _ in range(5)]
    forged = spamreports(deliveries, email=None)  # even with each reader's own address
    response = post(client, "sendgrid", forged, secret=None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert post(client, "sendgrid", forged, secret="pouls:devine").status_code == 401
    assert nobody_suppressed()


def test_the_anonymous_brevo_message_id_attack_suppresses_no_one(client):
    use_esp("brevo")
    deliveries = [sent_delivery() for _ in range(3)]
    for delivery in deliveries:
        forged = {
            "event": "spam",
            "email": delivery.contact.email,
            "ts_epoch": 1777300000000,
            "message-id": f"<{delivery.esp_message_id}>",
        }
        assert post(client, "brevo", forged, secret=None).status_code == 401
    assert nobody_suppressed()


# --- the recipient must be the delivery's ------------------------------------------


def test_an_event_naming_someone_else_s_delivery_is_ignored_and_logged(client, caplog):
    """With the secret (a leaked one, or a bug at the ESP), naming deliveries is still not
    enough: their recipient must be the address the delivery went to."""
    use_esp("sendgrid")
    deliveries = [sent_delivery() for _ in range(4)]
    with caplog.at_level(logging.WARNING, logger="mailings.events"):
        response = post(client, "sendgrid", spamreports(deliveries))
    assert response.status_code == 200
    assert nobody_suppressed()
    assert "4 event(s) ignored" in caplog.text

    use_esp("brevo")
    for delivery in deliveries:
        forged = {
            "event": "hard_bounce",
            "email": "attaquant@evil.example",
            "ts_epoch": 1777300000000,
            "message-id": f"<{delivery.esp_message_id}>",
        }
        assert post(client, "brevo", forged).status_code == 200
    assert nobody_suppressed()

    # The genuine event for the same delivery (address in another case) is applied.
    genuine = {
        "event": "spam",
        "email": deliveries[0].contact.email.upper(),
        "ts_epoch": 1777300000000,
        "message-id": f"<{deliveries[0].esp_message_id}>",
    }
    assert post(client, "brevo", genuine).status_code == 200
    assert Contact.objects.get(suppressed_at__isnull=False) == deliveries[0].contact


# --- signatures ----------------------------------------------------------------------


def test_sendgrid_signed_event_webhook_checks_the_signature(client):
    private_key = ec.generate_private_key(ec.SECP256R1())
    public_key = base64.b64encode(
        private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    use_esp("sendgrid", SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY=public_key)
    delivery = sent_delivery()
    body = json.dumps(spamreports([delivery], email=delivery.contact.email)).encode()
    timestamp = str(int(time.time()))

    def signed(key, payload=body):
        signature = key.sign(timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()

    headers = {"HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": timestamp}
    forger = ec.generate_private_key(ec.SECP256R1())
    for bad in (signed(forger), "bm90IGEgc2lnbmF0dXJl", "***"):
        response = post(
            client,
            "sendgrid",
            body,
            raw=True,
            HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=bad,
            **headers,
        )
        assert response.status_code == 403
    assert post(client, "sendgrid", body, raw=True, **headers).status_code == 403  # unsigned
    assert nobody_suppressed()
    response = post(
        client,
        "sendgrid",
        body,
        raw=True,
        HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE=signed(private_key),
        **headers,
    )
    assert response.status_code == 200
    delivery.contact.refresh_from_db()
    assert delivery.contact.suppression_reason == "complaint"


def test_mailgun_signature_with_another_key_is_refused(client):
    use_esp("mailgun")
    delivery = sent_delivery()
    forged = mailgun_signed(mailgun_event("complained", delivery), key="key-devinee")
    assert post(client, "mailgun", forged).status_code == 403
    assert nobody_suppressed()


# --- bodies --------------------------------------------------------------------------

TRUNCATED = '{"event": "delivered", "email": "a@'
WRONG_SHAPES = {
    "brevo": ["[]", '"texte"', '[{"event": "hard_bounce"}]', TRUNCATED],
    "mailgun": ["[]", '{"signature": "x", "event-data": {}}', "{}", TRUNCATED],
    "postmark": ["[]", '"texte"', '{"RecordType": "Bounce", "Type": ["HardBounce"]}', TRUNCATED],
    "sendgrid": ['{"event": "bounce"}', '"texte"', "[1, 2]", '[{"email": "a@b.c"}]', TRUNCATED],
}


@pytest.mark.parametrize(
    ("esp", "body"), [(esp, body) for esp, bodies in WRONG_SHAPES.items() for body in bodies]
)
def test_a_malformed_body_gets_400_never_500(client, esp, body):
    use_esp(esp)
    assert post(client, esp, body, raw=True).status_code == 400
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "message", ["[]", '"texte"', '{"notificationType": "Bounce", "bounce": []}', TRUNCATED]
)
def test_a_malformed_ses_notification_gets_400(client, message):
    use_esp("amazon_ses")
    body = json.dumps({"Type": "Notification", "MessageId": "m-1", "Message": message})
    response = post(
        client,
        "amazon_ses",
        body,
        raw=True,
        content_type="text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_ID="m-1",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
    )
    assert response.status_code == 400
    truncated = post(client, "amazon_ses", body[:40], raw=True, content_type="text/plain")
    assert truncated.status_code == 400


def test_more_events_than_the_cap_are_refused_whole(client, settings):
    use_esp("sendgrid")
    settings.MAIL_WEBHOOK_MAX_EVENTS = 3
    deliveries = [sent_delivery() for _ in range(4)]
    events = [
        {**event, "event": "delivered"}
        for event in spamreports(deliveries, email=None)
        for _ in [0]
    ]
    for event, delivery in zip(events, deliveries, strict=True):
        event["email"] = delivery.contact.email
    response = post(client, "sendgrid", events)
    assert response.status_code == 413
    assert b"4 > 3" in response.content
    assert not Event.objects.exists()
    assert post(client, "sendgrid", events[:3]).status_code == 200
    assert Event.objects.count() == 3


def test_a_ses_notification_for_several_recipients_records_each(client):
    use_esp("amazon_ses")
    delivery = sent_delivery("0100018f-ses-message-1")
    event = {
        "notificationType": "Delivery",
        "mail": ses_mail(delivery),
        "delivery": {"recipients": [delivery.contact.email], "smtpResponse": "250 ok"},
    }
    assert ses(client, event, "sns-delivery-1").status_code == 200
    assert ses(client, event, "sns-delivery-1").status_code == 200  # SNS retries
    assert Event.objects.get().kind == "delivered"
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


# --- production ----------------------------------------------------------------------


def test_production_refuses_an_anymail_backend_without_webhook_secret(tmp_path):
    env = {
        **PRODUCTION,
        "POULS_VAR_DIR": str(tmp_path),
        "EMAIL_BACKEND": "anymail.backends.brevo.EmailBackend",
        "ANYMAIL_BREVO_API_KEY": "xkeysib-test",
        "MAIL_POSTAL_ADDRESS": "Pouls, 12 rue des Lecteurs, 75011 Paris",
    }
    result = manage("check", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "WEBHOOK_SECRET" in lines[0]
    result = manage("check", env={**env, "WEBHOOK_SECRET": "pouls:" + "s" * 40})
    assert result.returncode == 0, result.stderr
