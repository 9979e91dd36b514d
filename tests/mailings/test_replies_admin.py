"""The inbox in the admin: unread first, filters by mailing and lesson, the reader's
profile and signup answer beside the reply, and « répondre » sent exactly once."""

import datetime as dt
from smtplib import SMTPSenderRefused, SMTPServerDisconnected
from unittest import mock

import pytest
from anymail.inbound import AnymailInboundMessage
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from config.dashboard import waiting
from mailings import replies
from mailings.models import Delivery, Reply
from signups.models import Answer, Profile

from .esp_webhooks import sent_delivery
from .factories import ContactFactory, StepFactory, SubscriptionFactory
from .inbound_payloads import REPLY_TO, raw_reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def inbox(settings):
    settings.MAIL_INBOUND_WEBHOOK = True
    settings.MAIL_REPLY_TO = REPLY_TO


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser("editrice", "editrice@pouls.example", "x")
    client.force_login(user)
    return user


def receive(delivery, *, text="Merci !", subject="Re: Leçon", at=None) -> Reply:
    address = replies.reply_address(delivery.pk)
    message = AnymailInboundMessage.parse_raw_mime(
        raw_reply(to=address, sender=delivery.contact.email, text=text, subject=subject)
    )
    reply = replies.reply_receive(message, esp="test", recipients=[address])
    if at:
        Reply.objects.filter(pk=reply.pk).update(received_at=at)
    return reply


def lesson_delivery(contact=None):
    step = StepFactory(subject="Leçon sur l’écoute")
    subscription = SubscriptionFactory(
        contact=contact or ContactFactory(), mailing_list=step.sequence.mailing_list
    )
    return Delivery.objects.create(
        step=step,
        contact=subscription.contact,
        subscription=subscription,
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
    )


def listed(client, query=""):
    response = client.get(reverse("admin:mailings_reply_changelist") + query)
    assert response.status_code == 200
    return [reply.pk for reply in response.context["cl"].result_list]


def test_unread_first_then_newest_and_filters_by_mailing_or_lesson(client, editor):
    now = timezone.now()
    on_mailing = sent_delivery()
    on_lesson = lesson_delivery()
    old_unread = receive(on_mailing, at=now - dt.timedelta(days=3))
    new_read = receive(on_lesson, at=now)
    new_unread = receive(on_lesson, at=now - dt.timedelta(hours=1))
    Reply.objects.filter(pk=new_read.pk).update(read_at=now)

    assert listed(client) == [new_unread.pk, old_unread.pk, new_read.pk]
    assert listed(client, f"?mailing__id__exact={on_mailing.mailing_id}") == [old_unread.pk]
    assert listed(client, f"?step__id__exact={on_lesson.step_id}") == [new_unread.pk, new_read.pk]
    assert listed(client, "?lue=non") == [new_unread.pk, old_unread.pk]
    page = client.get(reverse("admin:mailings_reply_changelist")).content.decode()
    assert "Leçon sur l’écoute" in page and "non lue" in page


def test_the_reply_beside_the_reader_s_profile_and_signup_answer_and_read_once_opened(
    client, editor
):
    contact = ContactFactory(first_name="Awa", profile=Profile.HR)
    Answer.objects.create(contact=contact, text="Garder mes clients fidèles.")
    reply = receive(lesson_delivery(contact), text="Une question sur la leçon.")
    response = client.get(reverse("admin:mailings_reply_change", args=[reply.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    for shown in (
        "Une question sur la leçon.",
        contact.email,
        contact.get_profile_display(),
        "Garder mes clients fidèles.",
        "Leçon sur l’écoute",
        "répondre",
    ):
        assert shown in page
    reply.refresh_from_db()
    assert reply.read_at is not None
    assert Reply.objects.unread().count() == 0
    client.post(reverse("admin:mailings_reply_change", args=[reply.pk]), {"action": "unread"})
    assert Reply.objects.unread().count() == 1


def test_repondre_sends_once_in_the_thread_whatever_the_clicks(client, editor):
    reply = receive(lesson_delivery(), subject="Re: Leçon sur l’écoute")
    url = reverse("admin:mailings_reply_change", args=[reply.pk])
    mail.outbox.clear()
    for _click in range(2):  # a double click: the second post finds the answer gone
        response = client.post(url, {"action": "answer", "answer": "Merci Awa, à jeudi !"})
        assert response.status_code == 302
    assert replies.reply_answer_send(reply_id=reply.pk) is False  # a retry: nothing
    assert replies.reply_answers_send() == 0  # the tick: nothing
    (sent,) = mail.outbox
    assert sent.to == [reply.from_email]
    assert sent.subject == "Re: Leçon sur l’écoute"
    assert sent.body == "Merci Awa, à jeudi !\n"
    message = sent.message()
    assert message["In-Reply-To"] == reply.message_id
    # Its own reply comes back to the inbox, in the same thread.
    assert replies.read_tag(message["Reply-To"]) == ("r", reply.pk)
    reply.refresh_from_db()
    assert reply.answered_at and reply.answered_by == editor and reply.answer_requested_at is None
    page = client.get(url).content.decode()
    assert "Envoyée le" in page and 'id="reply-form"' not in page
    assert reply.answer == "Merci Awa, à jeudi !"


def test_a_transient_failure_gives_the_answer_to_the_tick_which_sends_it_once(client, editor):
    reply = receive(sent_delivery())
    url = reverse("admin:mailings_reply_change", args=[reply.pk])
    mail.outbox.clear()
    with mock.patch(
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        side_effect=SMTPSenderRefused(421, b"4.7.0 Try again later", "bonjour@example.org"),
    ):
        response = client.post(url, {"action": "answer", "answer": "Bonjour !"}, follow=True)
    assert "la réponse partira dès que possible" in response.content.decode()
    reply.refresh_from_db()
    assert reply.answered_at is None and reply.answer_requested_at is not None
    assert mail.outbox == []
    # The editor clicks again meanwhile: the answer is already on its way, not twice.
    client.post(url, {"action": "answer", "answer": "Autre texte"})
    assert replies.reply_answers_send() == 1
    assert replies.reply_answers_send() == 0
    assert [m.body for m in mail.outbox] == ["Bonjour !\n"]


def test_an_answer_lost_on_its_way_is_never_sent_twice_and_the_editor_is_told(client, editor):
    """The connection lost while the answer was on its way: it may have been received,
    so it stays « sent » and is not sent again; the editor sees why it is uncertain."""
    reply = receive(sent_delivery())
    url = reverse("admin:mailings_reply_change", args=[reply.pk])
    mail.outbox.clear()
    with mock.patch(
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        side_effect=SMTPServerDisconnected("Connection unexpectedly closed"),
    ):
        response = client.post(url, {"action": "answer", "answer": "Bonjour !"}, follow=True)
    assert "peut-être été reçue" in response.content.decode()
    reply.refresh_from_db()
    assert reply.answered_at is not None and reply.answer_requested_at is None
    assert "ne sera pas renvoyée" in reply.answer_error
    assert replies.reply_answers_send() == 0
    assert mail.outbox == []


def test_an_answer_to_a_blocked_address_does_not_leave(client, editor):
    from signups.suppression import contact_suppress

    delivery = sent_delivery()
    reply = receive(delivery)
    contact_suppress(contact=delivery.contact, reason="complaint")
    mail.outbox.clear()
    client.post(reverse("admin:mailings_reply_change", args=[reply.pk]), {"answer": "Bonjour !"})
    assert mail.outbox == []
    reply.refresh_from_db()
    assert reply.answered_at is None and "bloquée" in reply.answer_error


def test_a_reply_to_the_answer_joins_the_same_contact_and_message(client, editor):
    delivery = lesson_delivery()
    first = receive(delivery)
    address = replies.reply_address(first.pk, "r")
    message = AnymailInboundMessage.parse_raw_mime(
        raw_reply(to=address, sender=delivery.contact.email, text="Encore merci.")
    )
    second = replies.reply_receive(message, recipients=[address])
    assert (second.contact, second.delivery, second.step) == (
        delivery.contact,
        delivery,
        delivery.step,
    )


def test_the_dashboard_counts_unread_replies(client, editor):
    reply = receive(sent_delivery())
    receive(sent_delivery())
    item = {entry["key"]: entry for entry in waiting()}["replies"]
    assert item["count"] == 2
    assert item["url"].endswith("?lue=non")
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="waiting-replies"' in page
    Reply.objects.filter(pk=reply.pk).update(read_at=timezone.now())
    assert {entry["key"]: entry for entry in waiting()}["replies"]["count"] == 1


def test_no_one_adds_a_reply_by_hand(client, editor):
    assert client.get(reverse("admin:mailings_reply_add")).status_code == 403
