"""Double opt-in through HTTP: the form, the email it produces, its link, the button."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from config.typography import french_text
from signups import signals
from signups.models import Answer, Consent, Contact, PendingSignup, Subscription

from .conftest import link_in, path_of, signup

pytestmark = pytest.mark.django_db


def test_pages_show_the_form_with_unticked_consent_and_hidden_time_zone(client, lists):
    for path, ml in (
        ("/newsletter/", "newsletter"),
        ("/atelier/", "atelier"),
        ("/entretiens/", "entretiens"),
    ):
        html = client.get(path).content.decode()
        assert french_text(lists[ml].consent_text) in html  # as typeset on the page
        assert 'name="consent"' in html and "checked" not in html.split('name="consent"')[1][:80]
        assert 'type="hidden" name="time_zone"' in html
        assert "/static/js/time-zone.js" in html  # fills it (no inline script: CSP)
        assert 'name="website"' in html  # honeypot
        assert "Qui êtes-vous\u202f?" in html
        assert "Quel est votre plus grand défi avec vos clients en ce moment\u202f?" in html


def test_workshop_landing_page_says_what_the_reader_will_learn(client, lists):
    html = client.get("/atelier/").content.decode()
    assert "Comment lire dans les pensées de ses clients" in html
    assert "vrais clients" in html and "suppositions" in html


def test_interviews_page_offers_two_choices(client, lists):
    html = client.get("/entretiens/").content.decode()
    assert "Recevoir les entretiens" in html and "Être interviewé·e" in html
    assert 'action="/entretiens/candidature/"' in html
    assert 'action="/inscription/entretiens/"' in html


def test_signup_confirm_end_to_end(csrf_client, lists, django_capture_on_commit_callbacks):
    confirmed = []
    signals.subscription_confirmed.connect(
        lambda subscription, **kw: confirmed.append(subscription.pk), weak=False, dispatch_uid="t"
    )
    try:
        response = signup(
            csrf_client,
            lists["atelier"],
            django_capture_on_commit_callbacks,
            email=" Lea@Example.ORG ",
        )
        assert response.status_code == 200
        assert "Vérifiez votre boîte de réception" in response.content.decode()

        contact = Contact.objects.get()
        assert contact.email == "lea@example.org"
        assert contact.time_zone == "America/Toronto"  # Montréal, by its name today
        subscription = Subscription.objects.get()
        assert subscription.status == Subscription.Status.PENDING
        consent = Consent.objects.get()
        assert consent.text == lists["atelier"].consent_text
        assert consent.version == lists["atelier"].consent_version
        assert consent.form == "atelier:page"
        assert consent.ip_address == "203.0.113.7"
        assert consent.user_agent == "Mozilla/5.0 (test)"
        assert Answer.objects.get().profile == "entrepreneur"

        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["lea@example.org"]
        assert "Confirmez votre inscription" in message.subject
        url = link_in(message)
        assert "lea" not in url.lower()  # no address in clear

        # GET shows one button and changes nothing (mail scanners follow links).
        page = csrf_client.get(path_of(url))
        assert page.status_code == 200
        assert "Je confirme mon inscription" in page.content.decode()
        subscription.refresh_from_db()
        assert subscription.status == Subscription.Status.PENDING

        # POST without the CSRF token is refused.
        assert csrf_client.post(path_of(url)).status_code == 403

        response = csrf_client.post(
            path_of(url), {"csrfmiddlewaretoken": page.context["csrf_token"]}
        )
        assert response.status_code == 200
        assert "Inscription confirmée" in response.content.decode()
        subscription.refresh_from_db()
        assert subscription.status == Subscription.Status.ACTIVE
        assert subscription.confirmed_at is not None
        assert confirmed == [subscription.pk]

        # Replay: the link changes nothing once used, and says the reader is in.
        again = csrf_client.post(path_of(url), {"csrfmiddlewaretoken": page.context["csrf_token"]})
        assert again.status_code == 200
        assert "Vous êtes déjà inscrit·e" in again.content.decode()
        assert "remplissez à nouveau" not in again.content.decode()
        assert confirmed == [subscription.pk]
    finally:
        signals.subscription_confirmed.disconnect(dispatch_uid="t")


def test_confirmation_email_contains_no_visitor_text(
    client, lists, django_capture_on_commit_callbacks
):
    signup(
        client,
        lists["newsletter"],
        django_capture_on_commit_callbacks,
        first_name="Gagnez 1000€ http://spam.example",
        answer="<a href='http://evil.example'>cliquez</a>",
    )
    message = mail.outbox[0]
    everything = message.subject + message.body + message.alternatives[0][0]
    for typed in ("Gagnez", "spam.example", "evil.example", "cliquez"):
        assert typed not in everything


def test_old_link_cannot_reactivate_after_unsubscribe(
    client, lists, django_capture_on_commit_callbacks
):
    signup(client, lists["newsletter"], django_capture_on_commit_callbacks)
    url = path_of(link_in(mail.outbox[0]))
    subscription = Subscription.objects.get()
    client.post(url)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    client.post(
        f"/desinscription/{__import__('signups.tokens').tokens.make_token('unsubscribe', subscription.pk)}/"
    )
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    # Signing up again within 24 h: still unsubscribed until the owner confirms, no new
    # email (rate), and the old link stays void.
    signup(client, lists["newsletter"], django_capture_on_commit_callbacks, ip="203.0.113.8")
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED
    assert client.post(url).status_code == 410
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.UNSUBSCRIBED


def test_link_expires_after_seven_days(client, lists, django_capture_on_commit_callbacks):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        signup(client, lists["newsletter"], django_capture_on_commit_callbacks)
        url = path_of(link_in(mail.outbox[0]))
        traveller.shift(timedelta(days=7, minutes=1))
        response = client.post(url)
        assert response.status_code == 400
        assert "expiré" in response.content.decode()
    assert Subscription.objects.get().status == Subscription.Status.PENDING


def test_tampered_confirmation_token_changes_nothing(
    client, lists, django_capture_on_commit_callbacks
):
    signup(client, lists["newsletter"], django_capture_on_commit_callbacks)
    url = path_of(link_in(mail.outbox[0]))
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.post(f"/confirmer/{forged}/").status_code == 400
    assert client.get(f"/confirmer/{forged}/").status_code == 400
    # A token made for another purpose is useless here.
    from signups.tokens import make_token

    other = make_token("unsubscribe", Subscription.objects.get().pk)
    assert client.post(f"/confirmer/{other}/").status_code == 400
    assert Subscription.objects.get().status == Subscription.Status.PENDING


def test_only_the_latest_link_works(client, lists, django_capture_on_commit_callbacks):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        signup(client, lists["newsletter"], django_capture_on_commit_callbacks)
        first = path_of(link_in(mail.outbox[0]))
        traveller.shift(timedelta(hours=25))
        signup(client, lists["newsletter"], django_capture_on_commit_callbacks, ip="198.51.100.1")
        assert len(mail.outbox) == 2
        second = path_of(link_in(mail.outbox[1]))
        assert client.post(first).status_code == 410
        assert client.post(second).status_code == 200
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


def test_compact_form_included_with_only_the_list_slug(rf, lists):
    from django.template import Context, Template

    request = rf.get("/")
    html = Template(
        '{% include "signups/_form_compact.html" with list_slug="newsletter" %}'
    ).render(Context({"request": request, "csrf_token": "x" * 64}))
    assert 'action="/inscription/newsletter/"' in html
    assert french_text(lists["newsletter"].consent_text) in html
    assert 'name="consent"' in html and 'name="website"' in html and 'name="time_zone"' in html
    assert 'name="csrfmiddlewaretoken"' not in html  # checked by origin (config/origin.py)


def test_compact_form_signup(csrf_client, lists, django_capture_on_commit_callbacks):
    csrf_client.get("/newsletter/")
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_client.post(
            "/inscription/newsletter/",
            {"email": "a@example.org", "consent": "on", "placement": "compact"},
            HTTP_ORIGIN="http://testserver",
            follow=True,
        )
    assert response.status_code == 200
    assert Consent.objects.get().form == "newsletter:compact"
    assert len(mail.outbox) == 1


def test_unknown_time_zone_falls_back_to_paris(client, lists, django_capture_on_commit_callbacks):
    signup(
        client, lists["newsletter"], django_capture_on_commit_callbacks, time_zone="Mars/Olympus"
    )
    assert Contact.objects.get().time_zone == "Europe/Paris"


def test_missing_consent_is_explained_in_french_and_keeps_the_input(client, lists):
    response = client.post(
        "/inscription/newsletter/", {"email": "a@example.org", "first_name": "Zoé"}
    )
    html = response.content.decode()
    assert "Cochez la case pour confirmer votre consentement." in html
    assert 'value="a@example.org"' in html and 'value="Zoé"' in html
    assert not Contact.objects.exists()


def test_a_cross_site_post_is_refused_on_the_signup_form(csrf_client, lists):
    response = csrf_client.post(
        "/inscription/newsletter/",
        {"email": "a@example.org", "consent": "on"},
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 403
    assert not Contact.objects.exists()


def test_interview_application(client, lists):
    client.get("/entretiens/")
    response = client.post(
        "/entretiens/candidature/",
        {
            "email": "Awa@Example.org",
            "first_name": "Awa",
            "company": "Kora & fils",
            "activity": "Torréfaction",
            "city": "Douala",
            "country": "Cameroun",
            "story": "J’ai commencé\navec trois clients.",
            "profile": "entrepreneur",
            "consent": "on",
        },
    )
    assert response.status_code == 303  # a reload never sends it again
    assert response["Location"] == "/entretiens/candidature/merci/"
    from signups.models import InterviewApplication

    application = InterviewApplication.objects.get()
    assert application.status == "new"
    assert application.contact.email == "awa@example.org"
    assert application.contact.consents.get().form == "entretiens:candidature"
    assert not Subscription.objects.exists()


def test_interview_application_honeypot_and_rate_limit(client, lists, settings):
    from signups.models import InterviewApplication

    data = {
        "email": "bot@example.org",
        "first_name": "Bot",
        "company": "Spam",
        "activity": "Spam",
        "city": "Nulle part",
        "country": "Nulle part",
        "story": "…",
        "consent": "on",
    }
    response = client.post("/entretiens/candidature/", {**data, "website": "http://spam"})
    assert response.status_code == 303
    assert "Merci" in client.get(response["Location"]).content.decode()
    assert not InterviewApplication.objects.exists()
    settings.SIGNUPS_RATE_PER_IP = (1, 600)
    assert client.post("/entretiens/candidature/", data).status_code == 303
    assert client.post("/entretiens/candidature/", data).status_code == 429
    assert InterviewApplication.objects.count() == 1


def test_a_list_added_by_the_editor_gets_a_page_and_form(client, lists):
    from signups.models import MailingList

    MailingList.objects.create(
        slug="podcast", name="Le podcast", consent_text="J’accepte de recevoir le podcast."
    )
    response = client.post("/inscription/podcast/", {"email": "not-an-address"})
    assert response.status_code == 200
    assert "J’accepte de recevoir le podcast." in response.content.decode()


def test_the_signup_statement_is_planned_once_per_connection(
    client, lists, postgres, django_capture_on_commit_callbacks, settings
):
    """The hot path's one statement is prepared on the connection and then reused,
    whatever the address (PostgreSQL only: SQLite runs the ORM path). A fast path:
    with POULS_FASTPATHS off it is Django's own cursor (tests/foundation/test_fastpaths.py)."""
    settings.POULS_FASTPATHS = True

    def uses():
        with postgres.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(generic_plans + custom_plans), 0) "
                "FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%INSERT INTO signups_consent%"],
            )
            return cursor.fetchone()[0]

    for n in range(3):
        signup(client, lists["newsletter"], django_capture_on_commit_callbacks, email=f"p{n}@ex.fr")
    signup(client, lists["atelier"], django_capture_on_commit_callbacks, email="p0@ex.fr")
    assert uses() == 4
    assert Subscription.objects.filter(status="pending").count() == 4
    # p0 was known: the workshop's consent waits for the owner's confirmation.
    assert Consent.objects.filter(contact__email="p0@ex.fr").count() == 1
    assert PendingSignup.objects.filter(subscription__contact__email="p0@ex.fr").count() == 1
