"""Bounces, blocks, complaints and unsubscribes as five ESPs report them (payload shapes
of anymail's own test suite), through our webhook: what is recorded, who is suppressed."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from mailings.models import Event
from signups.models import Contact, Subscription, Suppression

from .esp_webhooks import (
    mailgun_event,
    mailgun_signed,
    post,
    sent_delivery,
    ses,
    ses_mail,
    use_esp,
)
from .factories import ContactFactory, MailingFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def brevo(event, reason="", **extra):
    def build(d, at=1777300000000):
        return {
            "event": event,
            "email": d.contact.email,
            "id": 9999999,
            "date": "2026-04-27 18:10:23",
            "ts_epoch": at,
            "message-id": f"<{d.esp_message_id}>",
            "X-Mailin-custom": json.dumps({"delivery_id": str(d.pk)}),
            "tag": f"mailing-{d.mailing_id}",
            **({"reason": reason} if reason else {}),
            **extra,
        }

    return build


def mailgun(event, **extra):
    return lambda d: mailgun_signed(mailgun_event(event, d, **extra))


def mailgun_failed(severity, reason, code, message):
    status = {"code": code, "message": message, "description": "", "attempt-no": 1}
    return mailgun("failed", severity=severity, reason=reason, **{"delivery-status": status})


def sendgrid(event, **extra):
    def build(d):
        return [
            {
                "email": d.contact.email,
                "timestamp": 1777300000,
                "smtp-id": f"<{d.esp_message_id}>",
                "event": event,
                "category": [f"mailing-{d.mailing_id}"],
                "sg_event_id": f"sg-{event}-{d.pk}",
                "sg_message_id": f"14c5d75ce93.dfd.64b469.filter0001.{d.pk}.0",
                "anymail_id": d.esp_message_id,
                "delivery_id": str(d.pk),
                **extra,
            }
        ]

    return build


def postmark(record_type, type_=None, **extra):
    def build(d):
        payload = {
            "RecordType": record_type,
            "MessageID": d.esp_message_id,
            "Metadata": {"delivery_id": str(d.pk)},
            "Tag": f"mailing-{d.mailing_id}",
            "ServerID": 23,
            "MessageStream": "broadcast",
            **extra,
        }
        if type_:
            payload.update(
                ID=abs(hash((type_, d.pk))) % 10**9,
                Type=type_,
                Email=d.contact.email,
                BouncedAt="2026-04-27T16:28:50Z",
            )
        return payload

    return build


def amazon_ses(kind, **body):
    def build(d):
        event = {"notificationType": kind, "mail": ses_mail(d)}
        if kind == "Subscription":
            event = {"eventType": kind, "mail": ses_mail(d)}
        for key, value in body.items():
            event[key] = value(d) if callable(value) else value
        return event

    return build


def ses_bounce(kind, sub, diagnostic):
    return amazon_ses(
        "Bounce",
        bounce=lambda d: {
            "bounceType": kind,
            "bounceSubType": sub,
            "bouncedRecipients": [
                {"emailAddress": d.contact.email, "status": "5.1.1", "diagnosticCode": diagnostic}
            ],
            "timestamp": "2026-04-27T14:59:44.101Z",
            "feedbackId": "00000138111222aa-44455566-cccc-cccc-cccc-ddddaaaa068a-000000",
        },
    )


HARD, SOFT, BLOCKED = "bounced", "soft_bounced", "blocked"
# esp -> case -> (payload builder, kind recorded, suppression reason, unsubscribed?)
CASES = {
    "brevo": {
        "hard": (
            brevo(
                "hard_bounce",
                " RecipientError: 550 5.5.0 Requested action not taken: mailbox unavailable.",
            ),
            HARD,
            "hard_bounce",
            False,
        ),
        "soft": (
            brevo("soft_bounce", "undefined Unable to find MX of domain no-mx.example.com"),
            SOFT,
            None,
            False,
        ),
        "blocked": (brevo("blocked", "blocked : due to blacklist user"), BLOCKED, None, False),
        "complaint": (brevo("complaint"), "complained", "complaint", False),
        "unsubscribe": (brevo("unsubscribe", ip="10.0.0.1"), "unsubscribed", None, True),
    },
    "mailgun": {
        "hard": (
            mailgun_failed("permanent", "bounce", 550, "5.1.1 The email account does not exist"),
            HARD,
            "hard_bounce",
            False,
        ),
        "soft": (
            mailgun_failed("permanent", "old", 452, "4.2.2 Mailbox full, retried for too long"),
            SOFT,
            None,
            False,
        ),
        "blocked": (
            mailgun_failed(
                "permanent", "suppress-bounce", 605, "Not delivering to previously bounced address"
            ),
            BLOCKED,
            None,
            False,
        ),
        "complaint": (mailgun("complained"), "complained", "complaint", False),
        "unsubscribe": (mailgun("unsubscribed"), "unsubscribed", None, True),
    },
    "sendgrid": {
        "hard": (
            sendgrid("bounce", type="bounce", status="5.1.1", reason="550 5.1.1 User unknown"),
            HARD,
            "hard_bounce",
            False,
        ),
        "soft": (
            sendgrid(
                "bounce",
                type="blocked",
                status="4.7.1",
                reason="421 4.7.1 Temporarily rate limited due to IP reputation",
            ),
            SOFT,
            None,
            False,
        ),
        "blocked": (sendgrid("dropped", reason="Bounced Address"), BLOCKED, None, False),
        "complaint": (sendgrid("spamreport"), "complained", "complaint", False),
        "unsubscribe": (sendgrid("unsubscribe"), "unsubscribed", None, True),
    },
    "postmark": {
        "hard": (
            postmark(
                "Bounce",
                "HardBounce",
                TypeCode=1,
                Details="smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            ),
            HARD,
            "hard_bounce",
            False,
        ),
        "soft": (
            postmark("Bounce", "SoftBounce", TypeCode=4096, Details="smtp;452 4.2.2 Mailbox full"),
            SOFT,
            None,
            False,
        ),
        "blocked": (
            postmark("Bounce", "Blocked", TypeCode=100001, Details="ISP block"),
            BLOCKED,
            None,
            False,
        ),
        "complaint": (
            postmark("SpamComplaint", "SpamComplaint", TypeCode=512),
            "complained",
            "complaint",
            False,
        ),
        "unsubscribe": (
            lambda d: postmark(
                "SubscriptionChange",
                Recipient=d.contact.email,
                ChangedAt="2026-06-05T17:17:32Z",
                Origin="Recipient",
                SuppressSending=True,
                SuppressionReason="ManualSuppression",
            )(d),
            "unsubscribed",
            None,
            True,
        ),
    },
    "amazon_ses": {
        "hard": (
            ses_bounce(
                "Permanent", "General", "smtp; 550 5.1.1 <jane@example.com>... User unknown"
            ),
            HARD,
            "hard_bounce",
            False,
        ),
        "soft": (
            ses_bounce("Transient", "MailboxFull", "smtp; 452 4.2.2 Mailbox full"),
            SOFT,
            None,
            False,
        ),
        "blocked": (amazon_ses("Reject", reject={"reason": "Bad content"}), BLOCKED, None, False),
        "complaint": (
            amazon_ses(
                "Complaint",
                complaint=lambda d: {
                    "userAgent": "AnyCompany Feedback Loop (V0.01)",
                    "complainedRecipients": [{"emailAddress": d.contact.email}],
                    "complaintFeedbackType": "abuse",
                },
            ),
            "complained",
            "complaint",
            False,
        ),
        "unsubscribe": (
            amazon_ses(
                "Subscription",
                subscription={
                    "contactList": "pouls",
                    "timestamp": "2026-04-27T15:00:00Z",
                    "source": "UnsubscribeHeader",
                    "newTopicPreferences": {"unsubscribeAll": True},
                    "oldTopicPreferences": {"unsubscribeAll": False},
                },
            ),
            "unsubscribed",
            None,
            True,
        ),
    },
}


def deliver(client, esp, payload, n=[0]):  # noqa: B006 (a counter for SNS ids)
    if esp == "amazon_ses":
        n[0] += 1
        return ses(client, payload, f"sns-{n[0]}")
    return post(client, esp, payload)


@pytest.mark.parametrize(
    ("esp", "case"), [(esp, case) for esp, cases in CASES.items() for case in cases]
)
def test_what_each_esp_reports_is_classified_and_acted_on(client, esp, case):
    use_esp(esp)
    build, kind, suppressed, unsubscribed = CASES[esp][case]
    delivery = sent_delivery(f"{esp}-{case}-message-0001")
    response = deliver(client, esp, build(delivery))
    assert response.status_code == 200, response.content
    event = Event.objects.get()
    assert (event.kind, event.delivery_id) == (kind, delivery.pk)

    contact = Contact.objects.get(pk=delivery.contact_id)
    assert contact.suppression_reason == (suppressed or "")
    assert (contact.suppressed_at is not None) == bool(suppressed)
    assert Suppression.objects.exists() == bool(suppressed)
    status = Subscription.objects.get(pk=delivery.subscription_id).status
    assert (status == Subscription.Status.UNSUBSCRIBED) == unsubscribed


def soft_bounces(client, subscription, ages_in_days):
    for age in ages_in_days:
        delivery = sent_delivery(subscription=subscription)
        at = int((timezone.now() - dt.timedelta(days=age)).timestamp() * 1000)
        reason = "undefined Unable to find MX of domain no-mx.example.com"
        payload = brevo("soft_bounce", reason)(delivery, at=at)
        assert post(client, "brevo", payload).status_code == 200


def test_repeated_soft_bounces_stop_mail_until_the_editor_resumes_it(client, admin_client):
    use_esp("brevo")
    subscription = SubscriptionFactory(contact=ContactFactory())
    contact = subscription.contact
    soft_bounces(client, subscription, [20, 3, 1])  # one outside the 15 days
    contact.refresh_from_db()
    assert contact.suppressed_at is None

    soft_bounces(client, subscription, [0])  # the third within 15 days
    contact.refresh_from_db()
    assert contact.suppressed_at is not None
    assert contact.suppression_reason == "soft_bounces"
    assert not Suppression.objects.exists()  # no hash kept: reversible
    assert not Subscription.objects.mailable().filter(contact=contact).exists()

    # Visible to the editor: Contacts filtered on the reason.
    listing = admin_client.get("/admin/signups/contact/?suppression_reason=soft_bounces")
    assert contact.email in listing.content.decode()

    hard = sent_delivery()
    assert post(client, "brevo", CASES["brevo"]["hard"][0](hard)).status_code == 200
    response = admin_client.post(
        "/admin/signups/contact/",
        {"action": "resume", "_selected_action": [contact.pk, hard.contact_id]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 contact(s) recevront de nouveau les envois" in response.content.decode()
    contact.refresh_from_db()
    assert contact.suppressed_at is None and contact.suppression_reason == ""
    assert Subscription.objects.mailable().filter(contact=contact).exists()
    assert Contact.objects.get(pk=hard.contact_id).suppression_reason == "hard_bounce"


def test_soft_bounces_on_one_message_count_once(client, settings):
    use_esp("brevo")
    settings.MAIL_SOFT_BOUNCE_LIMIT = 2
    delivery = sent_delivery()
    reason = "undefined Unable to find MX of domain no-mx.example.com"
    for at in (1777300000000, 1777300600000, 1777301200000):
        payload = brevo("soft_bounce", reason)(delivery, at=at)
        assert post(client, "brevo", payload).status_code == 200
    assert Event.objects.filter(kind="soft_bounced").count() == 3
    delivery.contact.refresh_from_db()
    assert delivery.contact.suppressed_at is None


def test_a_hard_bounce_after_soft_ones_suppresses_for_good(client, settings):
    use_esp("brevo")
    settings.MAIL_SOFT_BOUNCE_LIMIT = 1
    subscription = SubscriptionFactory(contact=ContactFactory())
    soft_bounces(client, subscription, [0])
    assert Contact.objects.get(pk=subscription.contact_id).suppression_reason == "soft_bounces"
    hard = sent_delivery(subscription=subscription)
    assert post(client, "brevo", CASES["brevo"]["hard"][0](hard)).status_code == 200
    assert Suppression.objects.count() == 1  # now for good
    contact = Contact.objects.get(pk=subscription.contact_id)
    assert contact.suppression_reason == "hard_bounce"
    from signups.suppression import contact_resume

    assert contact_resume(contact=contact) is False


def test_a_batch_of_hard_bounces_suppresses_each_and_cancels_their_pending_mail(client):
    from mailings.models import Delivery

    use_esp("sendgrid")
    bounced = [sent_delivery(f"sg-batch-{n}") for n in range(3)]
    kept = sent_delivery("sg-batch-kept")
    pending = [
        Delivery.objects.create(
            mailing=MailingFactory(lists=[d.subscription.mailing_list]),
            contact=d.contact,
            subscription=d.subscription,
        )
        for d in [*bounced, kept]
    ]
    build = CASES["sendgrid"]["hard"][0]
    body = [event for d in bounced for event in build(d)]
    assert post(client, "sendgrid", body).status_code == 200
    assert set(Contact.objects.exclude(suppressed_at=None).values_list("pk", flat=True)) == {
        d.contact_id for d in bounced
    }
    assert Suppression.objects.count() == 3
    statuses = [Delivery.objects.get(pk=d.pk).status for d in pending]
    assert statuses == [Delivery.Status.SKIPPED] * 3 + [Delivery.Status.PENDING]
