"""The signup form and the preference centre in Chromium."""

import json

import pytest
from django.core import mail
from playwright.sync_api import expect

from signups import services, tokens
from signups.bootstrap import create_lists
from signups.models import Contact, MailingList, Subscription

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class _Quiet:
    def write(self, *_args):
        pass


@pytest.fixture
def lists():
    create_lists(stdout=_Quiet())
    return {ml.slug: ml for ml in MailingList.objects.all()}


def test_signup_in_the_browser_fills_the_time_zone_and_confirms(page, live_server, lists, settings):
    settings.SITE_URL = live_server.url
    page.goto(live_server.url + "/atelier/")
    form = page.locator("form.signup-form")
    form.get_by_label("Adresse e-mail").fill("awa@example.org")
    form.get_by_label("Qui êtes-vous ?").select_option("freelancer")
    form.get_by_label(lists["atelier"].consent_text).check()
    form.get_by_role("button", name="Je m’inscris").click()
    expect(page.get_by_role("heading", name="Vérifiez votre boîte de réception")).to_be_visible()

    contact = Contact.objects.get()
    # From the browser context (Chromium reports Montréal under its canonical zone).
    assert contact.time_zone in ("America/Montreal", "America/Toronto")
    assert contact.profile == "freelancer"
    (message,) = mail.outbox
    url = next(word for word in message.body.split() if "/confirmer/" in word)
    page.goto(url)
    page.get_by_role("button", name="Je confirme mon inscription").click()
    expect(page.get_by_role("heading", name="Inscription confirmée")).to_be_visible()
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


def test_preference_centre(page, live_server, lists):
    services.signup_submit(mailing_list=lists["newsletter"], email="lea@example.org", form="t")
    services.subscription_confirm(subscription=Subscription.objects.get())
    contact = Contact.objects.get()
    page.goto(live_server.url + f"/preferences/{tokens.make_token('preferences', contact.pk)}/")
    expect(page.get_by_role("heading", name="Mes préférences")).to_be_visible()

    newsletter = page.get_by_label(lists["newsletter"].name, exact=False)
    assert newsletter.is_checked()
    newsletter.uncheck()
    page.get_by_label(lists["entretiens"].name, exact=False).check()
    page.get_by_label("Prénom").fill("Léa")
    page.get_by_label("Fuseau horaire", exact=True).select_option("America/Guadeloupe")
    page.get_by_label("Langue des e-mails").select_option("en")
    page.get_by_role("button", name="Enregistrer mes préférences").click()
    expect(page.get_by_text("Vos préférences sont enregistrées.")).to_be_visible()

    contact.refresh_from_db()
    assert (contact.first_name, contact.time_zone, contact.language) == (
        "Léa",
        "America/Guadeloupe",
        "en",
    )
    statuses = dict(contact.subscriptions.values_list("mailing_list__slug", "status"))
    assert statuses == {"newsletter": "unsubscribed", "entretiens": "active"}

    page.get_by_role("button", name="Me désinscrire de tout").click()
    expect(page.get_by_text("Vous êtes désinscrit·e de tout.")).to_be_visible()

    # The data are reached by a fresh link sent to the address, not from this page.
    assert page.get_by_role("link", name="Télécharger mes données (JSON)").count() == 0
    mail.outbox.clear()
    page.get_by_role("button", name="Recevoir un lien").click()
    expect(page.get_by_text("Un lien vers vos données vient de partir")).to_be_visible()
    (message,) = mail.outbox
    link = next(word for word in message.body.split() if "/mes-donnees/" in word)
    page.goto(live_server.url + "/" + link.split("/", 3)[3])
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger mes données (JSON)").click()
    data = json.loads(open(download_info.value.path(), encoding="utf-8").read())
    assert data["contact"]["first_name"] == "Léa"
    assert set(contact.subscriptions.values_list("status", flat=True)) == {"unsubscribed"}

    page.get_by_label("Je veux que mes données soient effacées").check()
    page.get_by_role("button", name="Effacer mes données").click()
    expect(page.get_by_role("heading", name="Vos données sont effacées")).to_be_visible()
    contact.refresh_from_db()
    assert contact.email is None and contact.erased_at is not None


def test_forms_work_without_javascript(browser, live_server, lists):
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/newsletter/")
        form = page.locator("form.signup-form")
        form.get_by_label("Adresse e-mail").fill("nojs@example.org")
        form.get_by_label(lists["newsletter"].consent_text).check()
        form.get_by_role("button", name="Je m’inscris").click()
        expect(
            page.get_by_role("heading", name="Vérifiez votre boîte de réception")
        ).to_be_visible()
        assert Contact.objects.get().time_zone == "Europe/Paris"
    finally:
        context.close()
