"""The signup journey around the form: the thanks page (the address typed, the reader's
webmail), the interview application's redirect and acknowledgement, a confirm link used
twice, and the confirmation email's greeting."""

import re
from datetime import timedelta

import pytest
import requests
import time_machine
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.core import mail
from django.test import Client
from django.utils import timezone

from signups import emails, interviews, suppression
from signups.models import Contact, InterviewApplication
from signups.views import THANKS_COOKIE
from signups.webmail import webmail_for

from .conftest import link_in, path_of, signup

pytestmark = pytest.mark.django_db

NNBSP = "\u202f"


def _text(response) -> str:
    return response.content.decode()


def test_the_thanks_page_shows_the_address_typed_and_the_webmail(
    lists, django_capture_on_commit_callbacks, settings
):
    settings.DEFAULT_FROM_EMAIL = "Pouls <bonjour@pouls.example>"
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/inscription/atelier/",
            {"email": "awa.diallo@gmail.com", "consent": "on", "time_zone": "Europe/Paris"},
        )
    assert response.status_code == 303
    # The address never travels in the URL (logs, caches, Referer).
    assert "awa" not in response["Location"] and "gmail" not in response["Location"]
    cookie = response.cookies[THANKS_COOKIE]
    assert cookie["httponly"] and cookie["path"] == response["Location"]
    assert 0 < int(cookie["max-age"]) <= 15 * 60

    page = client.get(response["Location"])
    html = _text(page)
    assert "awa.diallo@gmail.com" in html
    assert f"Pas vous{NNBSP}?" in html
    assert 'href="/inscription/atelier/"' in html  # « Corrigez l’adresse »: back to the form
    assert 'href="https://mail.google.com/mail/u/0/"' in html
    assert "Ouvrir Gmail" in html
    # Gmail finds our email by its sender.
    assert "#search/from%3Abonjour%40pouls.example" in html
    # Never stored by the page cache or anything between the reader and the site.
    assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]
    assert "Cookie" in page["Vary"]


def test_another_visitor_never_sees_the_address(lists, django_capture_on_commit_callbacks):
    first = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = first.post(
            "/inscription/newsletter/",
            {"email": "lea@orange.fr", "consent": "on", "time_zone": "Europe/Paris"},
        )
    assert "lea@orange.fr" in _text(first.get(response["Location"]))
    other = Client()
    page = _text(other.get(response["Location"]))
    assert "lea@orange.fr" not in page and "Orange" not in page
    assert "Vérifiez votre boîte de réception" in page
    # A forged cookie (an address the visitor did not type, or a tampered one) shows nothing.
    other.cookies[THANKS_COOKIE] = "victim@example.org"
    assert "victim@example.org" not in _text(other.get(response["Location"]))
    # Past its lifetime the cookie is ignored.
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert "lea@orange.fr" not in _text(first.get(response["Location"]))


def test_a_domain_without_known_webmail_gets_no_button(lists, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/inscription/newsletter/",
            {"email": "lea@example.org", "consent": "on", "time_zone": "Europe/Paris"},
        )
    html = _text(client.get(response["Location"]))
    assert "lea@example.org" in html
    assert "webmail-buttons" not in html and "Ouvrir" not in html


def test_an_invalid_form_or_a_bot_sets_no_address(lists):
    client = Client()
    response = client.post(
        "/inscription/newsletter/",
        {"email": "bot@gmail.com", "consent": "on", "website": "http://spam.example"},
    )
    assert response.status_code == 303
    assert THANKS_COOKIE not in response.cookies
    response = client.post("/inscription/newsletter/", {"email": "lea@gmail.com"})
    assert response.status_code == 200 and THANKS_COOKIE not in response.cookies


@pytest.mark.parametrize(
    ("email", "name", "url"),
    [
        ("a@gmail.com", "Gmail", "https://mail.google.com/"),
        ("a@GoogleMail.com", "Gmail", "https://mail.google.com/"),
        ("a@hotmail.fr", "Outlook", "https://outlook.live.com/"),
        ("a@outlook.com", "Outlook", "https://outlook.live.com/"),
        ("a@live.ca", "Outlook", "https://outlook.live.com/"),
        ("a@msn.com", "Outlook", "https://outlook.live.com/"),
        ("a@yahoo.fr", "Yahoo Mail", "https://mail.yahoo.com/"),
        ("a@yahoo.co.uk", "Yahoo Mail", "https://mail.yahoo.com/"),
        ("a@orange.fr", "Orange", "https://mail.orange.fr/"),
        ("a@wanadoo.fr", "Orange", "https://mail.orange.fr/"),
        ("a@free.fr", "Free", "https://webmail.free.fr/"),
        ("a@sfr.fr", "SFR Mail", "https://webmail.sfr.fr/"),
        ("a@laposte.net", "La Poste", "https://www.laposte.net/"),
        ("a@icloud.com", "iCloud Mail", "https://www.icloud.com/mail/"),
        ("a@me.com", "iCloud Mail", "https://www.icloud.com/mail/"),
        ("a@mac.com", "iCloud Mail", "https://www.icloud.com/mail/"),
        ("a@videotron.ca", "Vidéotron", "https://courrielweb.videotron.com/"),
        ("a@videotron.qc.ca", "Vidéotron", "https://courrielweb.videotron.com/"),
    ],
)
def test_webmail_of_known_providers(email, name, url):
    webmail = webmail_for(email)
    assert webmail is not None and webmail.name == name and webmail.url.startswith(url)


@pytest.mark.parametrize(
    "email", ["a@example.org", "a@gmail.com.evil.example", "a@yahoo.evil.example", "a@", ""]
)
def test_no_webmail_for_other_domains(email):
    assert webmail_for(email) is None


# --- the interview application -------------------------------------------------------

APPLICATION = {
    "email": "awa@example.org",
    "first_name": "Awa",
    "company": "Kora & fils",
    "activity": "Torréfaction",
    "city": "Douala",
    "country": "Cameroun",
    "story": "J’ai commencé avec trois clients. http://lien.example",
    "consent": "on",
}


def _apply(client, capture, **overrides):
    with capture(execute=True):
        return client.post("/entretiens/candidature/", {**APPLICATION, **overrides})


def test_an_application_redirects_and_is_acknowledged_once(
    client, lists, django_capture_on_commit_callbacks
):
    response = _apply(client, django_capture_on_commit_callbacks)
    assert response.status_code == 303
    page = client.get(response["Location"])
    assert page.status_code == 200 and "votre candidature est reçue" in _text(page)
    # A reload of the thanks page is a GET: nothing is sent again.
    client.get(response["Location"])
    assert InterviewApplication.objects.count() == 1

    (message,) = mail.outbox
    assert message.to == ["awa@example.org"]
    assert "candidature" in message.subject
    assert message.body.startswith("Bonjour Awa,")
    html = message.alternatives[0][0]
    assert 'name="viewport"' in html
    # Nothing else the applicant typed is repeated to the address.
    for typed in ("Kora", "Torréfaction", "Douala", "lien.example"):
        assert typed not in message.body + html
    application = InterviewApplication.objects.get()
    assert application.acknowledged_at is not None
    assert application.acknowledgement_requested_at is None

    # The wake-up redelivered, the tick: nothing more.
    assert interviews.interview_acknowledgements_send() == 0
    assert len(mail.outbox) == 1


def test_a_second_application_the_same_day_is_not_acknowledged_again(
    lists, django_capture_on_commit_callbacks
):
    _apply(Client(), django_capture_on_commit_callbacks)
    _apply(Client(REMOTE_ADDR="192.0.2.9"), django_capture_on_commit_callbacks, company="Autre")
    assert InterviewApplication.objects.count() == 2
    assert len(mail.outbox) == 1


def _esp_error(status: int) -> AnymailAPIError:
    """What anymail raises when the ESP answers `status`."""
    response = requests.Response()
    response.status_code, response.reason = status, "Service Unavailable"
    response._content = b'{"message": "try later"}'
    return AnymailAPIError("ESP API response", status_code=status, response=response)


@pytest.mark.parametrize(
    ("error", "sent_later"),
    [
        (_esp_error(503), True),
        (AnymailRecipientsRefused("refused"), False),
        # Lost on its way: maybe received, never sent twice.
        (ConnectionResetError(104, "Connection reset by peer"), False),
    ],
    ids=["not-now", "refused", "unknown"],
)
def test_a_failed_acknowledgement_is_settled_by_the_answer(
    lists, django_capture_on_commit_callbacks, monkeypatch, error, sent_later
):
    real_send = emails.send
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs["to"])
        if len(calls) == 1:
            raise error
        return real_send(**kwargs)

    monkeypatch.setattr(emails, "send", flaky)
    _apply(Client(), django_capture_on_commit_callbacks)
    assert mail.outbox == []
    application = InterviewApplication.objects.get()
    assert (application.acknowledgement_requested_at is not None) == sent_later
    assert (application.acknowledged_at is not None) == isinstance(error, OSError)
    assert interviews.interview_acknowledgements_send() == int(sent_later)
    assert interviews.interview_acknowledgements_send() == 0
    assert len(mail.outbox) == int(sent_later) and len(calls) == 1 + int(sent_later)


def test_the_editor_sees_when_the_acknowledgement_left(
    admin_client, lists, django_capture_on_commit_callbacks
):
    _apply(Client(), django_capture_on_commit_callbacks)
    application = InterviewApplication.objects.get()
    html = _text(admin_client.get(f"/admin/signups/interviewapplication/{application.pk}/change/"))
    assert "Accusé de réception envoyé le" in html


def test_no_acknowledgement_for_a_suppressed_address(lists, django_capture_on_commit_callbacks):
    _apply(Client(), django_capture_on_commit_callbacks)
    mail.outbox.clear()
    contact = Contact.objects.get()
    suppression.contact_suppress(contact=contact, reason="complaint")
    InterviewApplication.objects.update(acknowledgement_requested_at=timezone.now())
    assert interviews.interview_acknowledgements_send() == 0
    assert mail.outbox == []


# --- confirmation ---------------------------------------------------------------------


def test_a_used_confirm_link_says_the_reader_is_already_confirmed(
    client, lists, django_capture_on_commit_callbacks
):
    signup(client, lists["newsletter"], django_capture_on_commit_callbacks)
    url = path_of(link_in(mail.outbox[0]))
    assert client.post(url).status_code == 200
    for again in (client.get(url), client.post(url)):
        assert again.status_code == 200
        html = _text(again)
        assert "Vous êtes déjà inscrit·e" in html
        assert "déjà confirmée" in html and "/preferences/" in html
        assert "remplissez à nouveau" not in html


def test_a_replaced_link_of_a_pending_reader_still_says_it_has_served(
    client, lists, django_capture_on_commit_callbacks
):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        signup(client, lists["newsletter"], django_capture_on_commit_callbacks)
        first = path_of(link_in(mail.outbox[0]))
        traveller.shift(timedelta(hours=25))
        signup(client, lists["newsletter"], django_capture_on_commit_callbacks, ip="192.0.2.3")
        response = client.get(first)
    assert response.status_code == 410
    assert "déjà inscrit" not in _text(response)


def test_the_confirmation_greets_by_first_name(client, lists, django_capture_on_commit_callbacks):
    signup(client, lists["newsletter"], django_capture_on_commit_callbacks, first_name="Marie-Ève")
    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert message.body.startswith("Bonjour Marie-Ève,")
    assert "Bonjour Marie-Ève," in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_the_confirmation_says_bonjour_without_a_first_name(
    client, lists, django_capture_on_commit_callbacks
):
    signup(client, lists["newsletter"], django_capture_on_commit_callbacks, first_name="")
    assert mail.outbox[0].body.startswith("Bonjour,")


@pytest.mark.parametrize(
    ("typed", "greeted"),
    [
        ("Awa", "Awa"),
        ("  Jean   Paul ", "Jean Paul"),
        ("N’Golo", "N’Golo"),
        ("J.", "J."),
        ("Gagnez 1000€ sur http://spam.example", ""),
        ("Cliquez ici pour gagner un iPhone gratuit", ""),
        ("<b>Awa</b>", ""),
        ("a" * 31, ""),
        ("", ""),
    ],
)
def test_greeting_name_keeps_only_what_reads_as_a_name(typed, greeted):
    assert emails.greeting_name(typed) == greeted


def test_every_signup_email_has_a_viewport_tag():
    from pathlib import Path

    from django.conf import settings

    folder = Path(settings.BASE_DIR) / "templates" / "signups" / "email"
    for template in folder.glob("*.html"):
        assert re.search(r'<meta name="viewport"', template.read_text()), template.name
