"""`?reponse=` (the comment a reader answers) in the page cache's key: only an id of a
comment shown under that article keeps a page of its own; any other value is served
the article's page and stores nothing more."""

import pytest
from django.test import Client

from articles.models import Comment

from .helpers import make_article
from .test_cache import _stored_pages

pytestmark = pytest.mark.django_db


def _comment(article, body="Premier commentaire", status="approved"):
    return Comment.objects.create(article=article, author="Awa", body=body, status=status)


def test_garbage_and_unknown_reply_values_never_store_another_copy(db):
    article = make_article(comments_open=True)
    shown = _comment(article)
    hidden = _comment(article, body="Masqué", status="hidden")
    elsewhere = _comment(make_article(title="Autre", slug="autre", comments_open=True))
    url = article.get_absolute_url()
    plain = Client().get(url)
    assert plain["X-Page-Cache"] == "miss"
    stored = _stored_pages()
    garbage = [
        "abc",
        "-1",
        "0",
        "1e3",
        "²",
        "٣",
        " ",
        "%00",
        "9" * 40,
        str(shown.pk + 10_000),
        str(hidden.pk),
        str(elsewhere.pk),
        f"{shown.pk}abc",
    ]
    for value in garbage:
        response = Client().get(url, {"reponse": value})
        assert response.status_code == 200, value
        assert response["X-Page-Cache"] == "hit", value
        assert response.content == plain.content, value
    assert _stored_pages() == stored


def test_a_shown_comment_keeps_its_reply_page_and_leading_zeros_are_the_same(db):
    article = make_article(comments_open=True)
    shown = _comment(article)
    url = article.get_absolute_url()
    Client().get(url)
    reply = Client().get(url, {"reponse": str(shown.pk)})
    assert reply["X-Page-Cache"] == "miss"
    assert f'name="parent" value="{shown.pk}"' in reply.content.decode()
    again = Client().get(url, {"reponse": f"00{shown.pk}", "x": "1"})
    assert again["X-Page-Cache"] == "hit"
    assert again.content == reply.content


def test_reply_to_a_comment_on_a_closed_article_is_the_plain_page(db):
    article = make_article(comments_open=False)
    shown = _comment(article)
    url = article.get_absolute_url()
    plain = Client().get(url)
    response = Client().get(url, {"reponse": str(shown.pk)})
    assert response["X-Page-Cache"] == "hit"
    assert response.content == plain.content
