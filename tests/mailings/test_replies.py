"""Replies reach the inbox: every mailing and lesson carries a signed Reply-To; what the
ESP's inbound webhook posts to it is stored once, without its quoted history, linked
to the message it answers and the contact; the unsubscribe mailbox still unsubscribes."""

import datetime as dt
import re
from email import message_from_bytes
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from config.tasks import tick
from mailings import rendering, replies
from mailings.models import Delivery, Reply
from signups import tokens
from signups.models import Subscription
from signups.services import subscription_confirm

from .esp_webhooks import auth, sent_delivery, use_esp
from .factories import (
    ContactFactory,
    SequenceFactory,
    StepFactory,
    SubscriptionFactory,
)
from .inbound_payloads import GMAIL_REPLY, REPLY_TO, mailgun_inbound, postmark_inbound, raw_reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(settings):
    settings.MAIL_INBOUND_WEBHOOK = True
    settings.MAIL_REPLY_TO = REPLY_TO
    return settings


def lesson_sent(capture):
    """A reader confirms, the first lesson leaves: its delivery and the email."""
    sequence = SequenceFactory()
    StepFactory(sequence=sequence, position=1, delay=dt.timedelta(0), subject="Leçon 1")
    subscription = SubscriptionFactory(
        mailing_list=sequence.mailing_list,
        contact=ContactFactory(first_name="Awa"),
        status=Subscription.Status.PENDING,
        confirmed_at=None,
    )
    subscription_confirm(subscription=subscription)
    with capture(execute=True):
        tick()
    (message,) = [m for m in mail.outbox if m.to == [subscription.contact.email]]
    return Delivery.objects.get(contact=subscription.contact), message.message()


def post_postmark(client, payload):
    return client.post(
        "/webhooks/anymail/postmark/inbound/", payload, content_type="application/json", **auth()
    )


def test_a_lesson_carries_a_reply_to_signed_for_its_delivery(
    inbox, django_capture_on_commit_callbacks
):
    delivery, message = lesson_sent(django_capture_on_commit_callbacks)
    reply_to = message["Reply-To"]
    assert re.fullmatch(r"reponses\+d[0-9a-z]+\.[0-9a-f]{16}@inbound\.pouls\.example", reply_to)
    assert replies.read_tag(reply_to) == ("d", delivery.pk)
    # Case-insensitive servers may upper-case it; a changed id or signature names nothing.
    assert replies.read_tag(reply_to.upper()) == ("d", delivery.pk)
    forged = reply_to.replace("+d", "+d1", 1)
    assert replies.read_tag(forged) is None


def test_without_the_inbound_webhook_replies_go_where_they_went(
    settings, django_capture_on_commit_callbacks
):
    settings.MAIL_REPLY_TO = REPLY_TO
    settings.MAIL_INBOUND_WEBHOOK = False
    _delivery, message = lesson_sent(django_capture_on_commit_callbacks)
    assert message["Reply-To"] is None
    assert replies.reply_mailbox() == ""


def test_the_smtp_bytes_carry_each_recipient_s_reply_to(inbox):
    step = StepFactory()
    rendered = rendering.render_message(step)
    values = rendering.recipient_values(
        delivery_id=42,
        email="awa@example.org",
        first_name="Awa",
        subscription_id=7,
        contact_id=3,
        list_slug="atelier",
        list_name="Atelier",
    )
    parsed = message_from_bytes(rendered.personal_bytes(values))
    assert parsed["Reply-To"] == replies.reply_address(42)
    assert replies.read_tag(parsed["Reply-To"]) == ("d", 42)


def test_a_reply_to_a_lesson_through_postmark_is_stored_once_and_linked(
    inbox, client, django_capture_on_commit_callbacks
):
    delivery, message = lesson_sent(django_capture_on_commit_callbacks)
    use_esp("postmark")  # the lesson left by the test backend; replies come by Postmark
    contact = delivery.contact
    payload = postmark_inbound(
        to=message["Reply-To"],
        sender=contact.email,
        text=GMAIL_REPLY.format(reply_to=message["Reply-To"]),
    )
    assert post_postmark(client, payload).status_code == 200
    reply = Reply.objects.get()
    assert reply.text == "Merci pour cette leçon, je l’essaie dès demain."
    assert "a écrit" in reply.full_text
    assert (reply.contact, reply.delivery, reply.step, reply.mailing) == (
        contact,
        delivery,
        delivery.step,
        None,
    )
    assert reply.from_name == "Awa Koffi" and reply.read_at is None and reply.esp
    # The ESP posts it again (a retry): still one reply.
    assert post_postmark(client, payload).status_code == 200
    assert Reply.objects.count() == 1


def test_a_mailgun_reply_without_tag_is_linked_by_in_reply_to_from_the_same_address(inbox, client):
    use_esp("mailgun")
    delivery = sent_delivery()
    contact = delivery.contact
    raw = raw_reply(
        to=REPLY_TO,
        sender=contact.email,
        text="Bonne idée.\n\n-----Message d'origine-----\nDe : Pouls\nObjet : x\n",
        headers={"In-Reply-To": f"<delivery-{delivery.pk}@testserver>"},
    )
    form = mailgun_inbound(raw, recipient=REPLY_TO, sender=contact.email)
    assert client.post("/webhooks/anymail/mailgun/inbound/", form, **auth()).status_code == 200
    reply = Reply.objects.get()
    assert (reply.text, reply.delivery, reply.mailing, reply.contact) == (
        "Bonne idée.",
        delivery,
        delivery.mailing,
        contact,
    )
    # A bad Mailgun signature is refused before anything is stored.
    forged = {**mailgun_inbound(raw, recipient=REPLY_TO, sender=contact.email), "signature": "0"}
    assert client.post("/webhooks/anymail/mailgun/inbound/", forged, **auth()).status_code == 403
    assert Reply.objects.count() == 1


def test_an_in_reply_to_naming_someone_else_s_delivery_links_only_the_sender(inbox, client):
    use_esp("postmark")
    delivery = sent_delivery()
    stranger = ContactFactory(email="autre@example.org")
    payload = postmark_inbound(
        to=REPLY_TO,
        sender=stranger.email,
        headers={"In-Reply-To": f"<delivery-{delivery.pk}@testserver>"},
    )
    assert post_postmark(client, payload).status_code == 200
    reply = Reply.objects.get()
    assert (reply.contact, reply.delivery) == (stranger, None)


def test_a_reply_from_an_unknown_address_is_kept_without_contact(inbox, client):
    use_esp("postmark")
    assert post_postmark(client, postmark_inbound(to=REPLY_TO, sender="x@inconnu.example"))
    reply = Reply.objects.get()
    assert (reply.contact, reply.from_email, reply.text) == (None, "x@inconnu.example", "Merci !")


def test_the_unsubscribe_mailbox_still_unsubscribes_and_other_mail_is_not_a_reply(inbox, client):
    use_esp("postmark")
    delivery = sent_delivery()
    subscription = delivery.subscription
    token = tokens.make_token("unsubscribe", subscription.pk)
    mailbox = rendering.unsubscribe_mailbox()
    payload = postmark_inbound(to=mailbox, sender="x@example.org", subject=f"unsubscribe-{token}")
    assert post_postmark(client, payload).status_code == 200
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    other = postmark_inbound(to="contact@pouls.example", sender=delivery.contact.email)
    assert post_postmark(client, other).status_code == 200
    assert Reply.objects.count() == 0


def test_inbound_eml_feeds_a_file_through_the_same_path(inbox, tmp_path):
    delivery = sent_delivery()
    address = replies.reply_address(delivery.pk)
    path = tmp_path / "reponse.eml"
    path.write_text(raw_reply(to=address, sender=delivery.contact.email, text="Bien reçu."))
    out = StringIO()
    call_command("inbound_eml", str(path), stdout=out)
    assert out.getvalue().strip() == f"{path}: reply"
    reply = Reply.objects.get()
    assert (reply.delivery, reply.text, reply.esp) == (delivery, "Bien reçu.", "eml")
    out = StringIO()
    call_command("inbound_eml", str(path), stdout=out)
    assert out.getvalue().strip() == f"{path}: duplicate"
    assert Reply.objects.count() == 1


def test_erasing_a_contact_erases_their_replies(inbox):
    from signups.rights import contact_erase

    delivery = sent_delivery()
    address = replies.reply_address(delivery.pk)
    from anymail.inbound import AnymailInboundMessage

    message = AnymailInboundMessage.parse_raw_mime(
        raw_reply(to=address, sender=delivery.contact.email)
    )
    assert replies.reply_receive(message, recipients=[address]) is not None
    contact_erase(contact=delivery.contact)
    assert Reply.objects.count() == 0


def test_replies_written_before_the_address_was_a_contact_s_are_its_data_too(inbox, client):
    """A stranger writes to the blog, signs up later, then asks for their data and its
    erasure: the early email (stored with no contact) is exported and erased with the
    rest; another stranger's stays."""
    from anymail.inbound import AnymailInboundMessage

    from signups.models import Contact
    from signups.rights import contact_erase, contact_export

    inbox_address = replies.reply_address(sent_delivery().pk)
    for sender, text in (
        ("Awa@Example.org", "Une question avant de m’inscrire."),
        ("autre@example.org", "Bonjour !"),
    ):
        message = AnymailInboundMessage.parse_raw_mime(
            raw_reply(to=inbox_address, sender=sender, text=text)
        )
        message.replace_header("Message-ID", f"<{sender}@mail.example>")
        stored = replies.reply_receive(message, recipients=["redaction@pouls.example"])
        assert stored is not None and stored.contact_id is None
    contact = Contact.objects.create(email="awa@example.org")
    exported = contact_export(contact=contact)["mailings"]["replies"]
    assert [r["text"] for r in exported] == ["Une question avant de m’inscrire."]
    contact_erase(contact=contact)
    assert list(Reply.objects.values_list("from_email", flat=True)) == ["autre@example.org"]


@pytest.mark.parametrize(
    "headers",
    [{"Auto-Submitted": "auto-replied"}, {"Precedence": "auto_reply"}, {"X-Autoreply": "yes"}],
)
def test_an_out_of_office_is_not_a_reply(inbox, client, headers):
    use_esp("postmark")
    delivery = sent_delivery()
    payload = postmark_inbound(
        to=replies.reply_address(delivery.pk),
        sender=delivery.contact.email,
        subject="Absence du bureau",
        text="Je suis absente jusqu’au 7 décembre.",
        headers=headers,
    )
    assert post_postmark(client, payload).status_code == 200
    assert Reply.objects.count() == 0


@pytest.mark.parametrize(
    ("inbound", "reply_to", "expected"),
    [
        (True, "reponses@exemple.fr", []),
        (False, "", []),
        (False, "reponses@exemple.fr", ["mailings.W001"]),
        (True, "", ["mailings.I001"]),
    ],
)
def test_system_check_says_when_the_replies_inbox_is_half_configured(
    settings, inbound, reply_to, expected
):
    from django.core import checks

    settings.MAIL_INBOUND_WEBHOOK = inbound
    settings.MAIL_REPLY_TO = reply_to
    found = [message.id for message in checks.run_checks() if message.id.startswith("mailings.")]
    assert found == expected
