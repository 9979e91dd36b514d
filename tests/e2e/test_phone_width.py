"""On a 360 px phone no public page scrolls sideways: long addresses and words wrap."""

import io
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from articles.models import Article
from signups import tokens
from signups.bootstrap import create_lists
from signups.models import Subscription

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTH = 360


def _too_wide(page) -> dict | None:
    sizes = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
    )
    return None if sizes["scroll"] <= sizes["inner"] else sizes


def test_no_sideways_scroll_at_360_px(browser, live_server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    create_lists(stdout=io.StringIO())
    call_command("import_articles", str(settings.BASE_DIR / "seeds" / "articles"), verbosity=0)
    context = browser.new_context(viewport={"width": WIDTH, "height": 740}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    paths = ["/", "/articles/", "/articles/?q=clientele"]
    paths += [a.get_absolute_url() for a in Article.objects.published()]
    assert len(paths) >= 8  # the five seed articles are there
    paths += ["/newsletter/", "/atelier/", "/entretiens/"]
    paths += [reverse("signups:thanks", args=[slug]) for slug in ("newsletter", "atelier")]
    too_wide = {}
    for path in paths:
        page.goto(live_server.url + path)
        if sizes := _too_wide(page):
            too_wide[path] = sizes

    # The signup journey on the phone: form, thanks, confirm, confirmed, unsubscribe.
    mail.outbox.clear()
    page.goto(live_server.url + "/atelier/")
    form = page.locator("main form").first
    form.get_by_label("Adresse e-mail").fill("lea@example.org")
    form.locator('input[type="checkbox"]').check()
    form.locator('button[type="submit"]').click()
    page.wait_for_url("**/merci/")
    if sizes := _too_wide(page):
        too_wide["thanks after signup"] = sizes
    link = re.search(r"https?://\S+(/confirmer/\S+/)", mail.outbox[-1].body).group(1)
    page.goto(live_server.url + link)
    if sizes := _too_wide(page):
        too_wide["confirm"] = sizes
    page.locator("main form button").click()
    page.wait_for_load_state()
    if sizes := _too_wide(page):
        too_wide["confirmed"] = sizes
    subscription = Subscription.objects.get(contact__email="lea@example.org")
    page.goto(
        live_server.url
        + reverse("signups:unsubscribe", args=[tokens.make_token("unsubscribe", subscription.pk)])
    )
    if sizes := _too_wide(page):
        too_wide["unsubscribe"] = sizes
    page.locator("main form button").first.click()
    page.wait_for_load_state()
    if sizes := _too_wide(page):
        too_wide["unsubscribed"] = sizes
    context.close()
    assert not too_wide, too_wide


def test_footer_language_label_stays_on_one_line_on_a_phone(browser, live_server):
    """At phone width the footer's « Langue » label once wrapped letter by letter."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 740}, locale="fr-FR")
    page = context.new_page()
    page.goto(live_server.url + "/articles/")
    lines = page.evaluate(
        """() => {
            const range = document.createRange();
            range.selectNodeContents(document.querySelector('label[for="language-select"]'));
            return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
        }"""
    )
    context.close()
    assert lines == 1
