"""Junk in the query string never stores one more page nor renders one more time."""

import pytest
from django.test import Client

from articles.models import Category

from .helpers import make_article
from .test_cache import _stored_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_pages(db):
    """Twelve articles in one category: two listing pages (ten a page)."""
    category = Category.objects.create(name="Clients", slug="clients")
    for number in range(12):
        make_article(title=f"Article {number}", slug=f"article-{number}").categories.add(category)
    return category


JUNK = (
    "page=abc",
    "page=0x2",
    "page=",
    "utm_source=lettre&utm_medium=email&fbclid=IwAR0x",
    "x=%22%3E%3Cb%3E&gclid=1",
)
PAST_THE_END = ("page=99999", "page=3", "page=0", "page=-1", "page=00099999999999999999")


@pytest.mark.parametrize("listing", ["/articles/", "/categories/clients/"])
def test_junk_and_page_numbers_past_the_end_store_nothing_new(two_pages, listing):
    first = Client().get(listing)
    last = Client().get(f"{listing}?page=2")
    assert first["X-Page-Cache"] == last["X-Page-Cache"] == "miss"
    assert _stored_pages() == 2

    for junk in JUNK:  # unread or not a number: page 1, served from the cache
        response = Client().get(f"{listing}?{junk}")
        assert response.status_code == 200, junk
        assert response["X-Page-Cache"] == "hit", junk
        assert response.content == first.content, junk
        assert not response.templates, junk  # nothing rendered

    for junk in PAST_THE_END:  # the last page, at its own address
        response = Client().get(f"{listing}?{junk}&utm_source=x")
        assert response.status_code == 302, junk
        assert response["Location"] == f"{listing}?page=2", junk
        assert "no-store" in response["Cache-Control"], junk
        assert "X-Page-Cache" not in response, junk
        assert not response.templates, junk  # the last page is not rendered again
        followed = Client().get(response["Location"])
        assert followed["X-Page-Cache"] == "hit" and followed.content == last.content

    assert _stored_pages() == 2


def test_a_search_past_its_last_page_keeps_the_search(two_pages):
    response = Client().get("/articles/?q=%20Article&page=50")
    assert response.status_code == 302
    assert response["Location"] == "/articles/?q=Article&page=2"
    assert _stored_pages() == 0
    assert Client().get(response["Location"]).status_code == 200


def test_search_spellings_of_one_search_share_its_page(two_pages):
    """Spaces around a search, or an empty, blank or invalid one, are no new page."""
    listing = Client().get("/articles/")
    search = Client().get("/articles/?q=Article")
    assert listing["X-Page-Cache"] == search["X-Page-Cache"] == "miss"
    assert _stored_pages() == 2
    for junk in ("q=", "q=%20%20%20", "q=%09%0A", "q=" + "x" * 201, "q=a%00b"):
        response = Client().get(f"/articles/?{junk}")
        assert response.status_code == 200, junk
        assert response["X-Page-Cache"] == "hit", junk
        assert response.content == listing.content, junk
    for spelling in ("q=%20Article", "q=Article%20%20", "q=Article&utm_campaign=x"):
        response = Client().get(f"/articles/?{spelling}")
        assert response["X-Page-Cache"] == "hit", spelling
        assert response.content == search.content, spelling
    assert _stored_pages() == 2
    other = Client().get("/articles/?q=Article+3")  # another search: its own page
    assert other["X-Page-Cache"] == "miss" and _stored_pages() == 3
