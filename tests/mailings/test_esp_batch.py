"""ESP batch sending: one Mailgun or SendGrid API call per chunk, personalised by merge data.

A local HTTP server stands in for the ESP's API (the edge); anymail's real backends
build and post the requests."""

import json
import threading
from contextlib import contextmanager
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from mailings import services
from mailings.models import Delivery

from .factories import MailingFactory, subscribers

pytestmark = pytest.mark.django_db


class FakeESP(BaseHTTPRequestHandler):
    """An ESP's API on localhost: keeps (path, one header, body) of each request and
    answers as that ESP does."""

    requests: list
    kept_header: str
    status: int
    answer: bytes

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append((self.path, self.headers[self.kept_header], body))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args):
        pass


@contextmanager
def fake_esp(*, kept_header: str, status: int, answer: bytes):
    """The fake API's port and the list its requests go to, for the block's duration."""
    handler = type(
        "Handler",
        (FakeESP,),
        {"requests": [], "kept_header": kept_header, "status": status, "answer": answer},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port, handler.requests
    finally:
        server.shutdown()


@pytest.fixture
def mailgun(settings):
    answer = json.dumps({"id": "<20260427.1@mg.pouls.example>", "message": "Queued. Thank you."})
    with fake_esp(kept_header="Content-Type", status=200, answer=answer.encode()) as (
        port,
        requests,
    ):
        settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
        settings.ANYMAIL = {
            "MAILGUN_API_KEY": "key-test",
            "MAILGUN_API_URL": f"http://127.0.0.1:{port}/v3",
        }
        settings.MAIL_ESP_BATCH = True
        settings.MAIL_CHUNK_SIZE = 3
        yield requests


def send_to(mailing_list):
    """A mailing to `mailing_list`, scheduled, dispatched and sent by one batch."""
    mailing = services.mailing_schedule(mailing=MailingFactory(lists=[mailing_list]))
    services.mailing_dispatch(mailing_id=mailing.pk)
    services.outbox_send_batch()
    return mailing


def form_fields(content_type: str, body: bytes) -> dict:
    """The fields of a form as Mailgun reads it, urlencoded or multipart."""
    if content_type == "application/x-www-form-urlencoded":
        return parse_qs(body.decode(), keep_blank_values=True)
    assert content_type.startswith("multipart/form-data; boundary=")
    form = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields = {}
    for part in form.iter_parts():
        assert part.get_content_disposition() == "form-data"
        fields.setdefault(part.get_param("name", header="content-disposition"), []).append(
            part.get_payload(decode=True).decode()
        )
    return fields


def test_one_api_call_per_chunk_with_per_recipient_links_and_headers(mailgun):
    subs = subscribers(5)
    mailing = send_to(subs[0].mailing_list)

    assert len(mailgun) == 2  # 5 recipients, chunks of 3
    path, content_type, body = mailgun[0]
    assert path == "/v3/pouls.example/messages"
    fields = form_fields(content_type, body)
    assert len(fields["to"]) == 3
    variables = json.loads(fields["recipient-variables"][0])
    first = subs[0].contact
    mine = variables[first.email]
    assert mine["hit"] == f" {first.first_name}"
    assert mine["unsub"].startswith("https://pouls.example/desinscription/")
    assert "%recipient.unsub%" in fields["html"][0] and "%recipient.fnt%" not in fields["html"][0]
    # The body greets by itself (« Bonjour {prénom} ! »): no second greeting from the
    # chrome; the space goes with the name (none for a reader without one).
    assert "Bonjour%recipient.hit%\u202f!" in fields["text"][0]
    assert fields["text"][0].count("Bonjour") == 1
    assert fields["o:tag"] == [f"mailing-{mailing.pk}"]
    assert fields["h:List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    unsubscribe_token = mine["unsub"].rstrip("/").rsplit("/", 1)[1]
    assert mine["h:List-Unsubscribe"] == (
        f"<{mine['unsub']}>, <mailto:bonjour@pouls.example?subject=unsubscribe-{unsubscribe_token}>"
    )
    # Only what the text and HTML use travels as merge data; a header the same for the
    # whole chunk travels once.
    assert "mailto" not in mine and "did" not in mine
    assert fields["h:List-Id"] == [
        f'"{subs[0].mailing_list.name}" <{subs[0].mailing_list.slug}.pouls.example>'
    ]
    assert "h:List-Id" not in mine
    assert mine["v:delivery_id"] == str(Delivery.objects.get(contact=first).pk)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert set(Delivery.objects.values_list("esp_message_id", flat=True)) == {
        "20260427.1@mg.pouls.example"
    }


def test_one_api_call_per_language_with_the_chrome_in_that_language(mailgun, settings):
    settings.MAIL_CHUNK_SIZE = 10
    subs = subscribers(2)
    subs += subscribers(2, subs[0].mailing_list, language="en")
    mailing = send_to(subs[0].mailing_list)

    assert len(mailgun) == 2  # one chunk, two languages
    calls = {}
    for _path, content_type, body in mailgun:
        fields = form_fields(content_type, body)
        assert fields["o:tag"] == [f"mailing-{mailing.pk}"]
        english = "Unsubscribe in one click" in fields["html"][0]
        calls[english] = set(fields["to"])
    assert calls[True] == {s.contact.email for s in subs[2:]}
    assert calls[False] == {s.contact.email for s in subs[:2]}
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


@pytest.fixture
def sendgrid(settings):
    # SendGrid's v3 mail/send: 202 and no body for an accepted batch.
    with fake_esp(kept_header="Authorization", status=202, answer=b"") as (port, requests):
        settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
        settings.ANYMAIL = {
            "SENDGRID_API_KEY": "SG.test",
            "SENDGRID_API_URL": f"http://127.0.0.1:{port}/v3/",
            "SENDGRID_MERGE_FIELD_FORMAT": "-{}-",
        }
        settings.MAIL_ESP_BATCH = True
        settings.MAIL_ESP_MERGE_FIELD = "-{}-"
        settings.MAIL_CHUNK_SIZE = 3
        yield requests


def test_sendgrid_one_call_per_chunk_and_each_delivery_keeps_its_own_message_id(sendgrid):
    subs = subscribers(4)
    mailing = send_to(subs[0].mailing_list)

    assert len(sendgrid) == 2  # 4 recipients, chunks of 3
    personalizations = {}
    for path, authorization, body in sendgrid:
        assert path == "/v3/mail/send" and authorization == "Bearer SG.test"
        data = json.loads(body)
        assert (
            "-unsub-" in data["content"][1]["value"]
            and "Bonjour-hit-\u202f!" in data["content"][0]["value"]
        )
        assert data["categories"] == [f"mailing-{mailing.pk}"]
        assert data["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        for personalization in data["personalizations"]:
            (recipient,) = personalization["to"]
            # What this recipient receives: the call's headers, then their own (a header
            # the same for the whole chunk travels once, with the call).
            personalization["headers"] = {**data["headers"], **personalization.get("headers", {})}
            personalizations[recipient["email"]] = personalization
    assert set(personalizations) == {s.contact.email for s in subs}

    for delivery in Delivery.objects.select_related("contact"):
        mine = personalizations[delivery.contact.email]
        assert delivery.status == Delivery.Status.SENT
        # The id SendGrid's events will carry for this recipient, and this delivery's id.
        assert delivery.esp_message_id == mine["custom_args"]["anymail_id"]
        assert mine["custom_args"]["delivery_id"] == str(delivery.pk)
        assert mine["substitutions"]["-unsub-"].startswith("https://pouls.example/desinscription/")
        assert mine["headers"]["List-Unsubscribe"].startswith(
            f"<{mine['substitutions']['-unsub-']}>"
        )
        assert mine["headers"]["Message-ID"] == f"<delivery-{delivery.pk}@pouls.example>"
    assert len({d.esp_message_id for d in Delivery.objects.all()}) == len(subs)


def test_with_site_click_tracking_each_recipient_gets_their_tracked_links(mailgun, settings):
    """MAIL_TRACK_CLICKS through an ESP's batch: the links are merge data per recipient,
    and the ESP is told not to track clicks again."""
    settings.MAIL_TRACK_CLICKS = True
    subs = subscribers(2)
    send_to(subs[0].mailing_list)
    [(_path, content_type, body)] = mailgun
    fields = form_fields(content_type, body)
    assert fields["o:tracking-clicks"] == ["no"]
    variables = json.loads(fields["recipient-variables"][0])
    for sub in subs:
        delivery = Delivery.objects.get(contact=sub.contact)
        links = [v for k, v in variables[sub.contact.email].items() if k.startswith("trk")]
        assert links and all(
            link.startswith(f"https://pouls.example/lien/{delivery.pk}/") for link in links
        )
    assert "%recipient.trka%" in fields["text"][0] or "%recipient.trkb%" in fields["text"][0]
    assert "/lien/" not in fields["html"][0]  # only in each recipient's merge data
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
