"""The page cache: served from cache, invalidated on save, the same bytes for everyone."""

import time
from pathlib import Path

import pytest
from django.test import Client

from articles.models import Status

from .helpers import make_article

pytestmark = pytest.mark.django_db


def test_pages_are_cached_and_invalidated_on_save(db, client, django_assert_num_queries):
    article = make_article(title="Premier titre")
    first = client.get("/")
    assert first["X-Page-Cache"] == "miss"
    with django_assert_num_queries(0):
        again = client.get("/")
    assert again["X-Page-Cache"] == "hit"
    assert again.content == first.content
    article.title = "Titre corrigé"
    article.save()
    updated = client.get("/")
    assert updated["X-Page-Cache"] == "miss"
    assert "Titre corrigé" in updated.content.decode()


def test_article_page_cached_then_unpublished(db, client):
    article = make_article()
    assert client.get(article.get_absolute_url()).status_code == 200
    assert client.get(article.get_absolute_url())["X-Page-Cache"] == "hit"
    article.status = Status.DRAFT
    article.save()
    assert client.get(article.get_absolute_url()).status_code == 404


def test_invalidation_after_commit(db, client, django_capture_on_commit_callbacks):
    article = make_article(title="Avant")
    client.get("/")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        article.title = "Après"
        article.save()
    assert callbacks  # a second invalidation runs once the transaction is committed
    assert "Après" in client.get("/").content.decode()


def test_cached_pages_are_the_same_bytes_for_everyone_and_set_no_cookie(db):
    """The public forms carry no token (config/origin.py), so a page is plain bytes."""
    from signups.bootstrap import create_lists

    create_lists(stdout=open("/dev/null", "w"))
    make_article()
    for path in ("/", "/articles/un-article-dessai/"):
        first = Client(enforce_csrf_checks=True).get(path)
        second = Client(enforce_csrf_checks=True).get(path)
        assert second["X-Page-Cache"] == "hit"
        assert b"signup-compact" in first.content  # the forms are there...
        assert b"csrfmiddlewaretoken" not in first.content  # ...without a token
        assert second.content == first.content
        assert not first.cookies and not second.cookies


def test_a_page_holding_a_csrf_token_is_never_stored(db, caplog):
    """Stored, it would hand one visitor's token to everyone."""
    from django.http import HttpResponse
    from django.middleware.csrf import get_token
    from django.test import RequestFactory

    from articles.cache import cached_page

    @cached_page
    def view(request):
        token = get_token(request)
        return HttpResponse(f'<input name="csrfmiddlewaretoken" value="{token}">')

    first = view(RequestFactory().get("/formulaire/"))
    second = view(RequestFactory().get("/formulaire/"))
    assert "X-Page-Cache" not in first and "X-Page-Cache" not in second
    assert first.content != second.content
    assert "holds a CSRF token" in caplog.text


def test_staff_are_never_served_cached_pages(db, client, admin_user):
    make_article()
    client.get("/")
    client.force_login(admin_user)
    assert "X-Page-Cache" not in client.get("/")


def test_tick_handler_moves_the_version_on_when_a_scheduled_article_goes_live(db, client):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from articles.cache import cache_version
    from articles.services import pages_refresh_scheduled

    make_article(
        title="Plus tard", slug="plus-tard", published_at=timezone.now() + dt.timedelta(minutes=5)
    )
    client.get("/")
    before = cache_version()
    pages_refresh_scheduled()
    assert cache_version() == before  # nothing due yet
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        pages_refresh_scheduled()
        assert cache_version() != before
        assert "Plus tard" in client.get("/").content.decode()


def test_processes_share_pages_through_the_shared_cache(db, client):
    from articles.cache import forget_local

    make_article(title="Partagé")
    assert client.get("/")["X-Page-Cache"] == "miss"
    forget_local()  # what another web process knows: nothing but the shared cache
    response = client.get("/")
    assert response["X-Page-Cache"] == "hit" and "Partagé" in response.content.decode()


def test_shared_cache_is_redis_when_configured(db, client, redis_url, settings):
    import redis
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    assert isinstance(caches["pages"], RedisCache)
    make_article()
    client.get("/")
    server = redis.Redis.from_url(settings.CACHES["pages"]["LOCATION"])
    try:
        assert server.keys("*articles:page:*")
        assert server.keys("*articles:pages:state*")
    finally:
        server.close()


def test_computing_the_next_publication_never_brings_back_an_old_version(db):
    import time_machine

    from articles import cache as page_cache
    from articles.cache import cache

    # The clock stands still: this process's copy of the version stays fresh.
    with time_machine.travel(time.time(), tick=False):
        # This process saved an article: it knows the new version, not yet its next
        # publication time...
        old = page_cache.pages_invalidate()
        # ...while another process saved an article.
        cache.set(page_cache.STATE_KEY, "newer", timeout=None)
        assert page_cache.cache_version() == old  # read from this process's copy
    assert cache.get(page_cache.STATE_KEY) == "newer"


def test_held_pages_are_served_before_url_resolution_with_every_middleware(db):
    make_article(title="Servi vite")
    visitor = Client(enforce_csrf_checks=True)
    first = visitor.get("/")
    assert first.wsgi_request.resolver_match is not None  # the view rendered it
    stranger = Client(enforce_csrf_checks=True)
    hit = stranger.get("/")
    assert hit["X-Page-Cache"] == "hit"
    assert hit.wsgi_request.resolver_match is None  # served by CachedPagesMiddleware
    # The other middleware still ran: security, CSP, clickjacking, locale.
    for name in (
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Content-Security-Policy",
    ):
        assert hit[name] == first[name]
    assert hit["Content-Language"] == "fr" and "Accept-Language" in hit["Vary"]
    assert "Servi vite" in hit.content.decode() and hit.content == first.content


def test_held_pages_are_per_language(db):
    make_article()
    french = Client().get("/")
    english = Client().get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert french["Content-Language"] == "fr" and english["Content-Language"] == "en"
    again_fr = Client().get("/")
    again_en = Client().get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert again_fr["X-Page-Cache"] == again_en["X-Page-Cache"] == "hit"
    assert '<html lang="fr">' in again_fr.content.decode()
    assert '<html lang="en">' in again_en.content.decode()
    assert again_en.content == english.content


def test_held_page_gives_way_when_a_scheduled_article_goes_live(db, client):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    make_article(title="Tout de suite", slug="tout-de-suite")
    make_article(
        title="À l’heure dite",
        slug="a-lheure-dite",
        published_at=timezone.now() + dt.timedelta(minutes=5),
    )
    client.get("/")
    held = client.get("/")
    assert held["X-Page-Cache"] == "hit" and "À l’heure dite" not in held.content.decode()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        assert "À l’heure dite" in client.get("/").content.decode()


def test_staff_and_pending_messages_bypass_held_pages(db, client, admin_user):
    make_article()
    client.get("/")
    assert client.get("/")["X-Page-Cache"] == "hit"
    client.cookies["messages"] = "anything"
    assert "X-Page-Cache" not in client.get("/")
    del client.cookies["messages"]
    client.force_login(admin_user)
    assert "X-Page-Cache" not in client.get("/")


def _stored_pages() -> int:
    """Pages in the shared pages cache (Redis or the file cache)."""
    import redis
    from django.conf import settings
    from django.core.cache import caches

    config = settings.CACHES["pages"]
    if config["BACKEND"].endswith("RedisCache"):
        server = redis.Redis.from_url(config["LOCATION"])
        try:
            return len(server.keys(caches["pages"].make_key("articles:page:*")))
        finally:
            server.close()
    files = list(Path(config["LOCATION"]).glob("*.djcache"))
    return len(files) - 2  # the version and the next publication


def test_unread_query_parameters_never_store_another_copy(db):
    """The flood: `?x=<random>` on every request stored a fresh copy for 600 s."""
    import secrets

    make_article(title="Une seule copie")
    for path in ("/", "/articles/"):
        first = Client().get(path)
        assert first["X-Page-Cache"] == "miss"
        for _ in range(20):
            response = Client().get(f"{path}?x={secrets.token_hex(8)}&utm_source=evil")
            assert response.status_code == 200
            assert response["X-Page-Cache"] == "hit"
    assert _stored_pages() == 2


def test_unread_parameters_never_reach_the_cached_page(db):
    make_article()
    Client().get("/articles/?page=1&x=%22%3E%3Cb%3Epiege")
    later = Client().get("/articles/?page=1")
    assert later["X-Page-Cache"] == "hit"
    body = later.content.decode()
    assert "piege" not in body and "?page=1&amp;x" not in body
    assert 'name="next" type="hidden" value="/articles/?page=1"' in body


def test_parameters_a_view_reads_keep_their_own_pages(db):
    for number in range(12):
        make_article(title=f"Article {number}", slug=f"article-{number}")
    page_one = Client().get("/articles/")
    page_two = Client().get("/articles/?page=2&x=1")
    assert page_two["X-Page-Cache"] == "miss"
    assert page_two.content != page_one.content
    again = Client().get("/articles/?x=2&page=002")  # order and leading zeros: page 2
    assert again["X-Page-Cache"] == "hit"
    assert again.content == page_two.content
    search = Client().get("/articles/?q=Article+3")
    assert search["X-Page-Cache"] == "miss" and "Article 3" in search.content.decode()
    assert Client().get("/articles/?q=Article+3&x=9")["X-Page-Cache"] == "hit"
    # The home page reads no parameter at all: ?page= is ignored there.
    home = Client().get("/")
    assert Client().get("/?page=2")["X-Page-Cache"] == "hit"
    assert home.status_code == 200


def test_the_invitations_render_once_per_version_and_follow_the_lists(db, client):
    """Every article page holds the same invitations aside: a page that is not cached
    takes it rendered, until a list changes."""
    import io

    from signups.bootstrap import create_lists
    from signups.models import MailingList

    create_lists(stdout=io.StringIO())
    first = make_article(slug="premier")
    second = make_article(slug="second", title="Un autre article")
    page = client.get(first.get_absolute_url())
    assert "articles/_invitations.html" in [t.name for t in page.templates]
    other = client.get(second.get_absolute_url())
    assert other["X-Page-Cache"] == "miss"
    assert "articles/_invitations.html" not in [t.name for t in other.templates]
    aside = page.content.decode().split('<aside class="invitations"')[1].split("</aside>")[0]
    assert aside in other.content.decode()
    assert 'id="id_compact_atelier_email"' in aside

    workshop = MailingList.objects.get(slug="atelier")
    workshop.consent_text = "J’accepte de recevoir les cinq leçons de l’atelier."
    workshop.save()
    again = client.get(second.get_absolute_url())
    assert "articles/_invitations.html" in [t.name for t in again.templates]
    assert "J’accepte de recevoir les cinq leçons de l’atelier." in again.content.decode()
