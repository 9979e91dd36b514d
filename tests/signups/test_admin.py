"""The editor's side: contacts, CSV import and export, interviews, audience."""

import csv
import io
import json
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from signups import services
from signups.models import (
    Answer,
    Consent,
    Contact,
    InterviewApplication,
    Subscription,
    Suppression,
    email_hash,
)

pytestmark = pytest.mark.django_db

CSV = (
    "email,prénom,profil\n"
    "awa@example.org,Awa,entrepreneur\n"
    "Marc@Example.org,Marc,\n"
    "pas-une-adresse,X,\n"
    "blocked@example.org,B,\n"
    "zoe@example.org,Zoé,astronaute\n"
    "\n"
    "awa@example.org,Awa,\n"
)


def _import(admin_client, lists, text=CSV):
    """Read the file (the preview), then confirm the import."""
    data = {
        "mailing_list": lists["newsletter"].pk,
        "consent_source": "Salon Entreprendre 2026, formulaire papier",
        "consent_date": "2026-03-14",
    }
    preview = admin_client.post(
        "/admin/signups/contact/import/",
        {**data, "file": SimpleUploadedFile("contacts.csv", text.encode("utf-8"))},
    )
    assert preview.context["preview"] is not None
    token = preview.context["form"]["token"].value()
    return admin_client.post(
        "/admin/signups/contact/import/", {**data, "token": token, "confirm": "Importer"}
    )


def test_csv_import_reports_line_by_line_and_reimport_changes_nothing(admin_client, lists):
    Suppression.objects.create(email_hash=email_hash("blocked@example.org"), reason="complaint")
    response = _import(admin_client, lists)
    assert response.status_code == 200
    html = response.content.decode()
    report = response.context["report"]
    assert report.imported == 2 and report.suppressed == 1 and report.unchanged == 1
    assert [(line, value) for line, value, _ in report.errors] == [
        (4, "pas-une-adresse"),
        (6, "zoe@example.org"),
    ]
    assert "Profil inconnu." in html and "pas-une-adresse" in html
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "awa@example.org",
        "marc@example.org",
    }
    consent = Consent.objects.get(contact__email="awa@example.org")
    assert consent.form == "import : Salon Entreprendre 2026, formulaire papier"
    assert consent.given_at.date().isoformat() == "2026-03-14"
    assert consent.text == lists["newsletter"].consent_text
    assert Subscription.objects.filter(status="active").count() == 2
    before = (Contact.objects.count(), Subscription.objects.count(), Consent.objects.count())

    again = _import(admin_client, lists).context["report"]
    assert again.imported == 0 and again.unchanged == 3
    assert (
        Contact.objects.count(),
        Subscription.objects.count(),
        Consent.objects.count(),
    ) == before


def test_import_never_resubscribes_someone_who_left(admin_client, lists):
    _import(admin_client, lists)
    services.subscription_unsubscribe(
        subscription=Subscription.objects.get(contact__email="awa@example.org")
    )
    _import(admin_client, lists)
    assert Subscription.objects.get(contact__email="awa@example.org").status == "unsubscribed"


def test_csv_export_of_a_list_neutralises_formulas(admin_client, lists):
    _import(admin_client, lists, 'email,prénom\nawa@example.org,=HYPERLINK("x")\n')
    response = admin_client.get(f"/admin/signups/mailinglist/{lists['newsletter'].pk}/export.csv")
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "email"
    assert rows[1][0] == "awa@example.org" and rows[1][1].startswith("'=")
    assert rows[1][3] == "active"


def test_contact_list_search_filters_and_html_shown_as_text(admin_client, lists):
    services.signup_submit(
        mailing_list=lists["newsletter"],
        email="lea@example.org",
        form="newsletter:page",
        first_name="<img src=x onerror=alert(1)>",
        profile="hr",
    )
    for query in (
        "?q=lea",
        f"?liste={lists['newsletter'].pk}",
        "?abonnement=pending",
        f"?liste={lists['newsletter'].pk}&abonnement=pending",
        "?source=site",
        "?profile__exact=hr",
        "?source=newsletter%3Apage",
        "?signed_up=7",
    ):
        response = admin_client.get("/admin/signups/contact/" + query)
        assert response.status_code == 200, query
        html = response.content.decode()
        assert "lea@example.org" in html, query
        assert "<img src=x" not in html and "&lt;img src=x" in html
    for query in (
        "?signed_up=older",
        f"?liste={lists['atelier'].pk}",
        f"?liste={lists['newsletter'].pk}&abonnement=active",
        "?source=import",
        "?liste=abc",
    ):
        response = admin_client.get("/admin/signups/contact/" + query)
        assert response.status_code == 200, query
        assert "lea@example.org" not in response.content.decode(), query
    html = admin_client.get("/admin/signups/contact/").content.decode()
    assert "/admin/signups/contact/audience/" in html and "/admin/signups/contact/import/" in html
    contact = Contact.objects.get()
    change = admin_client.get(f"/admin/signups/contact/{contact.pk}/change/").content.decode()
    assert lists["newsletter"].consent_text in change  # consent evidence, read-only inline


def test_export_and_erase_actions_call_the_services(admin_client, lists):
    services.signup_submit(mailing_list=lists["newsletter"], email="lea@example.org", form="t")
    contact = Contact.objects.get()
    response = admin_client.post(
        "/admin/signups/contact/", {"action": "export_json", "_selected_action": [contact.pk]}
    )
    data = json.loads(response.content)
    assert data[0]["contact"]["email"] == "lea@example.org"
    admin_client.post(
        "/admin/signups/contact/", {"action": "erase", "_selected_action": [contact.pk]}
    )
    contact.refresh_from_db()
    assert contact.email is None and contact.erased_at
    assert Suppression.objects.filter(email_hash=email_hash("lea@example.org")).exists()


def test_interview_queue(admin_client, lists):
    contact = Contact.objects.create(email="awa@example.org")
    application = InterviewApplication.objects.create(
        contact=contact,
        company="<b>Kora</b>",
        activity="Café",
        city="Lomé",
        country="Togo",
        story="…",
    )
    html = admin_client.get(
        "/admin/signups/interviewapplication/?status__exact=new"
    ).content.decode()
    assert "&lt;b&gt;Kora&lt;/b&gt;" in html
    admin_client.post(
        "/admin/signups/interviewapplication/",
        {"action": "mark_scheduled", "_selected_action": [application.pk]},
    )
    application.refresh_from_db()
    assert application.status == InterviewApplication.Status.SCHEDULED


def test_audience_page(admin_client, lists):
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=3), tick=False):
        services.signup_submit(
            mailing_list=lists["atelier"],
            email="a@example.org",
            form="t",
            profile="it",
            answer="<script>x</script> Trouver le temps d’écouter",
        )
        services.subscription_confirm(subscription=Subscription.objects.get())
    with time_machine.travel(now - timedelta(days=100), tick=False):
        services.signup_submit(mailing_list=lists["atelier"], email="old@example.org", form="t")
    services.signup_submit(mailing_list=lists["atelier"], email="b@example.org", form="t")
    response = admin_client.get("/admin/signups/contact/audience/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "<polyline" in html
    assert '<script src="http' not in html  # no external script
    atelier = next(s for s in response.context["series"] if s["list"].slug == "atelier")
    assert sum(atelier["values"]) == 2  # the one 100 days ago is out of the window
    assert atelier["values"][-4] == 1 and atelier["values"][-1] == 1
    assert atelier["rate"] == 50
    assert "50 %" in html
    assert "Trouver le temps d’écouter" in html and "<script>x" not in html
    assert "Responsable informatique en PME" in html
    assert Answer.objects.count() == 1
