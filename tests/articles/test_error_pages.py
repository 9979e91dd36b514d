"""The error pages: French, in the site's look; the 500 page needs nothing that may be down."""

import pytest
from django.http import HttpResponse
from django.template.loader import get_template
from django.test import Client
from django.urls import include, path

from .helpers import make_article


def _boom(request):
    raise RuntimeError("une panne")


def _fine(request):
    return HttpResponse("ok")


urlpatterns = [
    path("test-boom/", _boom),
    path("test-fine/", _fine),
    path("", include("config.urls")),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/page-qui-nexiste-pas",  # the article catch-all: not a permalink, not an old address
        "/un/chemin/inconnu/",
        "/articles/article-inconnu/",
        "/categories/inconnue/",
    ],
)
def test_unknown_address_answers_404_with_the_french_page(client, url):
    make_article()
    response = client.get(url)
    assert response.status_code == 404
    html = response.content.decode()
    assert "Cette page est introuvable" in html
    assert '<html lang="fr">' in html
    assert 'class="site-header"' in html and 'name="q"' in html  # the site's look, a search
    assert '<meta name="robots" content="noindex">' in html


@pytest.mark.django_db
def test_404_page_in_english(client):
    response = client.get("/page-qui-nexiste-pas", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="en">' in html and "All articles" in html


@pytest.mark.django_db
def test_catch_all_still_serves_permalinks_next_to_the_404(client):
    article = make_article(permalink="/une-adresse-a-soi")
    assert client.get("/une-adresse-a-soi").status_code == 200
    assert client.get("/une-adresse-a-soi-bis").status_code == 404
    assert article.get_absolute_url() == "/une-adresse-a-soi"


@pytest.mark.urls(__name__)
@pytest.mark.django_db
def test_server_error_answers_500_with_the_french_page(django_assert_num_queries):
    client = Client(raise_request_exception=False)
    assert client.get("/test-fine/").status_code == 200
    with django_assert_num_queries(0):
        response = client.get("/test-boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Un incident technique nous empêche d’afficher cette page" in html
    assert '<html lang="fr">' in html and "<style>" in html


def test_500_page_renders_without_database_request_or_static_files():
    # No `db` mark: pytest-django refuses any database access in this test; the
    # context is empty, as Django's server_error gives it (no context processors).
    html = get_template("500.html").render({})
    assert "Un incident technique" in html
    assert "/static/" not in html and 'href="/"' in html
