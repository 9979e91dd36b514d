"""A reader replies to a lesson; the ESP posts the reply to the inbound webhook of
Django's live server; the editor finds it on the dashboard, reads it beside the
reader's profile and signup answer in Chromium, and « répondre » goes out once,
through the ESP (whose API call is the only thing replaced)."""

import base64
import datetime as dt
import io
import json

import pytest
import requests
from anymail.backends.base_requests import AnymailRequestsBackend
from django.contrib.auth import get_user_model
from django.core import mail
from playwright.sync_api import expect

from mailings import services
from mailings.models import Delivery, Reply
from signups.models import Answer, Profile, Subscription
from signups.services import subscription_confirm
from tests.mailings.esp_webhooks import SECRET
from tests.mailings.factories import (
    ContactFactory,
    SequenceFactory,
    StepFactory,
    SubscriptionFactory,
)
from tests.mailings.inbound_payloads import GMAIL_REPLY, REPLY_TO, postmark_inbound

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class PostmarkAPI:
    """Postmark's send API as anymail's backend calls it: each call kept, accepted."""

    def __init__(self):
        self.calls = []

    def post(self, payload, message):
        self.calls.append(json.loads(payload.serialize_data()))
        response = requests.Response()
        response.status_code = 200
        response.encoding = "utf-8"
        body = {
            "To": message.to[0],
            "SubmittedAt": "2026-11-30T10:20:00Z",
            "MessageID": f"pm-{len(self.calls)}",
            "ErrorCode": 0,
            "Message": "OK",
        }
        response.raw = io.BytesIO(json.dumps(body).encode())  # what `content` reads
        return response


def test_a_reply_to_a_lesson_reaches_the_inbox_and_the_answer_goes_out(
    page, live_server, settings, monkeypatch
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MAIL_INBOUND_WEBHOOK = True
    settings.MAIL_REPLY_TO = REPLY_TO
    monkeypatch.setattr(services, "outbox_wake", lambda *args: None)  # the test plays workers

    # The first lesson leaves for a reader who answered the signup question.
    sequence = SequenceFactory(name="Atelier en cinq jours")
    step = StepFactory(
        sequence=sequence, position=1, delay=dt.timedelta(0), subject="Leçon 1 : écouter"
    )
    contact = ContactFactory(first_name="Awa", profile=Profile.HR)
    Answer.objects.create(contact=contact, text="Fidéliser mes premiers clients.")
    subscription = SubscriptionFactory(
        mailing_list=sequence.mailing_list,
        contact=contact,
        status=Subscription.Status.PENDING,
        confirmed_at=None,
    )
    subscription_confirm(subscription=subscription)
    services.enrolments_advance()
    while services.outbox_send_batch(size=50):
        pass
    (lesson,) = [m for m in mail.outbox if m.to == [contact.email]]
    reply_to = lesson.message()["Reply-To"]
    assert reply_to.startswith("reponses+d")

    # Replies and answers now go through Postmark.
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "POSTMARK_SERVER_TOKEN": "jeton-de-test"}
    api = PostmarkAPI()
    monkeypatch.setattr(AnymailRequestsBackend, "post_to_esp", api.post)

    payload = postmark_inbound(
        to=reply_to,
        sender=contact.email,
        subject="Re: Leçon 1 : écouter",
        text=GMAIL_REPLY.format(reply_to=reply_to),
    )
    screenshot = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    payload["Attachments"] = [
        {
            "Name": "capture d’écran.png",
            "Content": base64.b64encode(screenshot).decode(),
            "ContentType": "image/png",
            "ContentLength": len(screenshot),
            "ContentID": "",
        }
    ]
    response = requests.post(
        f"{live_server.url}/webhooks/anymail/postmark/inbound/",
        json=payload,
        auth=tuple(SECRET.split(":", 1)),
        timeout=10,
    )
    assert response.status_code == 200
    reply = Reply.objects.get()
    assert reply.delivery == Delivery.objects.get(step=step, contact=contact)

    get_user_model().objects.create_superuser(
        "editrice", "editrice@pouls.example", "mot-de-passe-solide"
    )
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Nom d’utilisateur").fill("editrice")
    page.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    page.get_by_role("button", name="Connexion").click()

    expect(page.locator("#waiting-replies")).to_contain_text("1 réponses de lecteurs non lues")
    page.locator("#waiting-replies a").click()
    expect(page.locator("#result_list")).to_contain_text("Leçon 1 : écouter")
    expect(page.locator("#result_list")).to_contain_text("non lue")
    page.locator("#result_list tbody").get_by_role("link").first.click()

    expect(page.locator("#reply-text")).to_have_text(
        "Merci pour cette leçon, je l’essaie dès demain."
    )
    expect(page.locator("#reply-message")).to_contain_text("Leçon 1 : écouter")
    expect(page.locator("#reply-contact")).to_contain_text(contact.email)
    expect(page.locator("#contact-profile")).to_have_text(contact.get_profile_display())
    expect(page.locator("#contact-answers")).to_contain_text("Fidéliser mes premiers clients.")
    # The reader's screenshot: listed, downloaded as a file, never shown in the page.
    attachments = page.locator("#reply-attachments")
    expect(attachments).to_contain_text("capture d’écran.png")
    assert page.locator("#reply img").count() == 0
    with page.expect_download() as download_info:
        attachments.get_by_role("link", name="capture d’écran.png").click()
    download = download_info.value
    assert download.suggested_filename == "capture d’écran.png"
    assert open(download.path(), "rb").read() == screenshot

    page.get_by_label("Répondre à").fill("Merci Awa ! Dites-moi jeudi ce que ça a donné.")
    page.get_by_role("button", name="répondre").dblclick()  # impatient: twice
    expect(page.locator("#reply-answered")).to_contain_text("Envoyée le")

    assert len(api.calls) == 1
    (sent,) = api.calls
    assert sent["To"] == contact.email
    assert sent["Subject"] == "Re: Leçon 1 : écouter"
    assert sent["TextBody"].startswith("Merci Awa ! Dites-moi jeudi")
    headers = {header["Name"]: header["Value"] for header in sent["Headers"]}
    assert headers["In-Reply-To"] == reply.message_id
    reply.refresh_from_db()
    assert reply.read_at and reply.answered_at

    page.goto(live_server.url + "/admin/")
    expect(page.locator("#waiting-replies")).to_contain_text("0 réponses de lecteurs non lues")
