"""Headers: a Content-Security-Policy on every page, no inline script left for it to
block; HSTS preload and includeSubDomains only when asked for."""

import base64
import hashlib
import io
import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone

from articles.models import Article, Status

from .test_settings import PRODUCTION, manage

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(db):
    from signups.bootstrap import create_lists

    create_lists(stdout=io.StringIO())
    return Article.objects.create(
        title="Écouter ses clients",
        slug="ecouter",
        body="Un texte.",
        status=Status.PUBLISHED,
        published_at=timezone.now(),
    )


class Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inline, self.handlers = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [name for name in attrs if name.startswith("on")]
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/ld+json":
            self.inline.append(self.getpos())


PAGES = ["/", "/articles/", "/articles/ecouter/", "/newsletter/", "/atelier/", "/entretiens/"]


@pytest.mark.parametrize("path", [*PAGES, "/nulle-part/", "/admin/login/", "/robots.txt"])
def test_every_page_carries_the_policy(site, path):
    for visit in ("first", "cached"):
        response = Client().get(path)
        policy = response["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["default-src"] == "'self'", visit
        assert directives["script-src"] == "'self'", visit
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        assert directives["form-action"] == "'self'"


@pytest.mark.parametrize("path", PAGES)
def test_public_pages_hold_no_inline_script(site, path):
    """The time-zone filler was an inline <script>: the policy would block it."""
    html = Client().get(path).content.decode()
    scripts = Scripts()
    scripts.feed(html)
    assert scripts.inline == [] and scripts.handlers == []
    if 'name="time_zone"' in html:
        assert "/static/js/time-zone.js" in html
    assert " style=" not in html  # inline style attributes would be blocked too


def test_the_self_contained_500_page_keeps_its_style():
    """Its one <style> block is allowed by hash; the hash follows the template."""
    html = render_to_string("500.html")
    (block,) = re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src"]


def hsts(tmp_path, **variables) -> str:
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.test import Client; "
        "print(Client().get('/robots.txt', secure=True, HTTP_HOST='pouls.example.org')"
        "['Strict-Transport-Security'])",
        env={**PRODUCTION, "POULS_VAR_DIR": str(tmp_path), **variables},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_hsts_preload_and_subdomains_are_off_by_default(tmp_path):
    assert hsts(tmp_path) == "max-age=31536000"


def test_hsts_preload_and_subdomains_are_opt_in(tmp_path):
    header = hsts(
        tmp_path,
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
    )
    assert header == "max-age=31536000; includeSubDomains; preload"
