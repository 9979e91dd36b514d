"""A reader opens an article from the home page, in a real browser."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reader_opens_an_article_from_the_home_page(page, live_server, settings):
    call_command("import_articles", str(settings.BASE_DIR / "seeds" / "articles"), verbosity=0)
    page.goto(live_server.url + "/")
    latest = page.get_by_role("region", name="Derniers articles")
    link = latest.get_by_role(
        "link", name="Oubliez votre produit, cherchez d’abord vos\u00a0clients"
    )
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url("**/articles/oubliez-votre-produit-cherchez-dabord-vos-clients/")
    assert (
        page.get_by_role("heading", level=1).inner_text()
        == "Oubliez votre produit, cherchez d’abord vos\u00a0clients"
    )
    assert page.locator("time").first.inner_text() == "15 octobre 2017"
    # Missing images show their caption, never a broken image.
    assert page.locator(".prose img").count() == 0
    expect(page.get_by_text("Ne cherchez pas de clients pour vos produits")).to_be_visible()
    # The interview invitation leads to our own page.
    assert page.get_by_role("link", name="ici", exact=True).get_attribute("href") == "/entretiens/"
    # The reader goes back home and opens the scraped article with its comments.
    page.go_back()
    page.get_by_role("link", name="Vivre de sa passion\u202f? Ah non\u202f!").click()
    expect(page.get_by_role("heading", name="24 commentaires")).to_be_visible()
    replies = page.locator(".comment-list > li").first.locator(".comment-replies .comment")
    assert replies.count() == 2
