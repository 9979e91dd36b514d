"""The public forms (signup, application, language switcher) carry no CSRF token: a
POST to them is accepted from this site's pages and from the origins listed in
POULS_FORM_ORIGINS, and refused with Django's French CSRF page from anywhere else.
The admin and the forms behind a token link keep Django's CSRF token."""

import io

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from signups.models import Contact

pytestmark = pytest.mark.django_db

SIGNUP = {"email": "lea@example.org", "consent": "on", "first_name": "Léa"}


@pytest.fixture(autouse=True)
def lists(db):
    from signups.bootstrap import create_lists

    create_lists(stdout=io.StringIO())


def post(path, data, **headers):
    # A browser's POST: no token (the pages hold none), its Origin and/or Referer.
    return Client(enforce_csrf_checks=True).post(path, data, **headers)


def refused_in_french(response):
    assert response.status_code == 403
    body = response.content.decode()
    assert "La vérification CSRF a échoué" in body  # Django's page, in French
    return body


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_ORIGIN": "null"},  # sandboxed frame, data: page
        {"HTTP_ORIGIN": "http://testserver.evil.example"},
        {"HTTP_REFERER": "https://evil.example/page-piegee.html"},
        {"HTTP_ORIGIN": "https://evil.example", "HTTP_REFERER": "http://testserver/"},
    ],
)
def test_a_cross_site_signup_is_refused(headers):
    """The attack CSRF protects against: another site's page makes the visitor's
    browser post the form (their IP as consent evidence, their rate limits spent)."""
    refused_in_french(post("/inscription/newsletter/", SIGNUP, **headers))
    assert not Contact.objects.exists()


def test_a_cross_site_application_and_language_switch_are_refused():
    evil = {"HTTP_ORIGIN": "https://evil.example"}
    refused_in_french(post("/entretiens/candidature/", {"email": "a@example.org"}, **evil))
    response = post("/i18n/setlang/", {"language": "en", "next": "/"}, **evil)
    refused_in_french(response)
    assert "django_language" not in response.cookies


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "http://testserver"},
        {"HTTP_REFERER": "http://testserver/newsletter/"},
        {"HTTP_ORIGIN": settings.SITE_URL},
        {},  # plain HTTP and neither header: not a browser posting another site's page
    ],
)
def test_the_sites_own_pages_sign_up_without_a_token(headers):
    response = post("/inscription/newsletter/", SIGNUP, **headers)
    assert response.status_code == 303
    assert Contact.objects.filter(email="lea@example.org").exists()


def test_over_https_a_post_naming_no_origin_is_refused():
    refused_in_french(post("/inscription/newsletter/", SIGNUP, secure=True))
    response = post(
        "/inscription/newsletter/", SIGNUP, HTTP_ORIGIN="https://testserver", secure=True
    )
    assert response.status_code == 303


def test_an_embedding_site_listed_in_the_setting_may_post(settings):
    partner = {"HTTP_ORIGIN": "https://partenaire.example"}
    refused_in_french(post("/inscription/newsletter/", SIGNUP, **partner))
    settings.POULS_FORM_ORIGINS = ["https://partenaire.example"]
    assert post("/inscription/newsletter/", SIGNUP, **partner).status_code == 303


def test_the_language_switcher_works_from_the_sites_pages():
    response = post(
        "/i18n/setlang/", {"language": "en", "next": "/"}, HTTP_ORIGIN="http://testserver"
    )
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"


def test_the_admin_keeps_djangos_csrf_token():
    get_user_model().objects.create_superuser("editrice", "e@pouls.example", "mot-de-passe-solide")
    response = post(
        "/admin/login/",
        {"username": "editrice", "password": "mot-de-passe-solide"},
        HTTP_ORIGIN="http://testserver",  # the right origin is not enough there
    )
    assert response.status_code == 403


def test_article_pages_with_the_comment_form_are_cached_and_cross_site_comments_refused():
    from django.utils import timezone

    from articles.models import Article, Comment, Status

    Article.objects.create(
        title="Écouter", slug="ecouter", body="Texte.", status=Status.PUBLISHED,
        published_at=timezone.now(),
    )  # fmt: skip
    Client().get("/articles/ecouter/")
    page = Client().get("/articles/ecouter/")
    assert page["X-Page-Cache"] == "hit"
    assert b"/articles/ecouter/commenter/" in page.content
    assert b"csrfmiddlewaretoken" not in page.content
    comment = {"name": "Awa", "email": "awa@example.org", "body": "Merci !", "consent": "on"}
    refused_in_french(
        post("/articles/ecouter/commenter/", comment, HTTP_ORIGIN="https://evil.example")
    )
    assert not Comment.objects.exists()
