"""Under the Content-Security-Policy, the site and the admin run without a single
violation: Chromium reports each one on the console and as a DOM event."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from articles.models import Article, Status
from mailings.models import Mailing
from tests.mailings.factories import MailingFactory, MailingListFactory, subscribers

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture
def watched(page):
    """The page, recording CSP violations (console errors and DOM events)."""
    console = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    page.add_init_script(RECORD_VIOLATIONS)
    page.csp_console = console
    return page


def violations(page) -> list[str]:
    return page.csp_console + page.evaluate("window.__violations")


def visit(page, url) -> list[str]:
    response = page.goto(url)
    assert response.status < 400, url
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    return violations(page)


def test_public_pages_have_no_violation_and_the_time_zone_is_filled(watched, live_server):
    from signups.bootstrap import create_lists

    create_lists(stdout=open("/dev/null", "w"))
    Article.objects.create(
        title="Écouter ses clients",
        slug="ecouter",
        body="Un texte.",
        status=Status.PUBLISHED,
        published_at=timezone.now(),
    )
    for path in ("/", "/articles/ecouter/", "/newsletter/", "/atelier/", "/entretiens/"):
        assert visit(watched, live_server.url + path) == [], path
    # The time zone, filled by the static script instead of the inline one.
    zone = watched.locator('input[name="time_zone"]').first
    expect(zone).to_have_value(re.compile(r"America/(Montreal|Toronto)"))  # ICU's alias


def test_admin_works_under_the_policy(watched, live_server):
    get_user_model().objects.create_superuser("editrice", "e@pouls.example", "mot-de-passe-solide")
    newsletter = MailingListFactory()
    subscribers(2, newsletter)
    mailing = MailingFactory(lists=[newsletter], body="Bonjour !")
    Mailing.objects.filter(pk=mailing.pk).update(status=Mailing.Status.SENT)
    assert visit(watched, live_server.url + "/admin/login/") == []
    watched.get_by_label("Nom d’utilisateur").fill("editrice")
    watched.get_by_label("Mot de passe").fill("mot-de-passe-solide")
    watched.get_by_role("button", name="Connexion").click()
    expect(watched.locator("#site-name")).to_be_visible()
    for path in (
        "/admin/",
        "/admin/articles/article/",
        "/admin/articles/article/add/",
        "/admin/mailings/mailing/",
        f"/admin/mailings/mailing/{mailing.pk}/change/",
        "/admin/mailings/sequence/add/",
        "/admin/signups/contact/",
        "/admin/signups/contact/audience/",
    ):
        assert visit(watched, live_server.url + path) == [], path
    # Scripts still run: the article form's date widgets and the « Aperçu » button.
    watched.goto(live_server.url + "/admin/articles/article/add/")
    expect(watched.locator(".datetimeshortcuts").first).to_be_visible()
    assert violations(watched) == []
