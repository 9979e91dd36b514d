"""The signup journey in Chromium, on a desktop and on a 390 px phone: the form, the
thanks page with the address typed and the button to the reader's webmail, the
correction link, the confirmation link, and the same link used again."""

import io
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from signups.bootstrap import create_lists
from signups.models import Subscription

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sideways(page) -> dict | None:
    sizes = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    return None if sizes["scroll"] <= sizes["inner"] else sizes


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_signup_journey_with_the_webmail_button(browser, live_server, settings, width):
    settings.SITE_URL = live_server.url
    settings.DEFAULT_FROM_EMAIL = "Pouls <bonjour@pouls.example>"
    create_lists(stdout=io.StringIO())
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    address = "marie-eve.tremblay-de-la-riviere@gmail.com"
    try:
        page.goto(live_server.url + "/atelier/")
        form = page.locator("form.signup-form").first
        form.get_by_label("Adresse e-mail").fill(address)
        form.get_by_label("Prénom").fill("Marie-Ève")
        form.locator('input[name="consent"]').check()
        form.locator('button[type="submit"]').click()
        page.wait_for_url("**/merci/")
        assert "gmail" not in page.url and "%40" not in page.url

        expect(
            page.get_by_role("heading", name="Vérifiez votre boîte de réception")
        ).to_be_visible()
        expect(page.get_by_text(address)).to_be_visible()
        button = page.get_by_role("link", name="Ouvrir Gmail")
        expect(button).to_be_visible()
        assert button.get_attribute("href") == "https://mail.google.com/mail/u/0/"
        assert button.get_attribute("target") == "_blank"
        search = page.get_by_role("link", name="Trouver notre e-mail dans Gmail")
        assert "from%3Abonjour%40pouls.example" in search.get_attribute("href")
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        assert _sideways(page) is None, _sideways(page)

        # A reload shows the same page and sends nothing more.
        page.reload()
        expect(page.get_by_text(address)).to_be_visible()
        assert len(mail.outbox) == 1
        assert mail.outbox[0].body.startswith("Bonjour Marie-Ève,")

        # « Pas vous ? Corrigez l’adresse » leads back to the form.
        page.get_by_role("link", name="Corrigez l’adresse").click()
        page.wait_for_url("**/atelier/")
        expect(page.locator("form.signup-form").first).to_be_visible()

        # The confirmation link, then the same link again.
        link = re.search(r"https?://\S+(/confirmer/\S+/)", mail.outbox[0].body).group(1)
        page.goto(live_server.url + link)
        page.locator("main form button").click()
        expect(page.get_by_role("heading", name="Inscription confirmée")).to_be_visible()
        assert Subscription.objects.get().status == Subscription.Status.ACTIVE
        page.goto(live_server.url + link)
        expect(page.get_by_role("heading", name="Vous êtes déjà inscrit·e")).to_be_visible()
        assert _sideways(page) is None, _sideways(page)
    finally:
        context.close()
