"""No e-mail address of an imported author or commenter appears anywhere readers or
machines look: pages, listings, category pages, feeds, sitemap, meta tags."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from articles.importing import import_run
from articles.models import Article, Category, Comment

pytestmark = pytest.mark.django_db

FIXTURES = Path(settings.BASE_DIR) / "tests" / "fixtures" / "import"
ADDRESS = re.compile(rb"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def fixture_addresses() -> set[str]:
    """Every address written anywhere in the import fixtures (authors, commenters, members)."""
    found = set()
    for path in FIXTURES.rglob("*"):
        if path.is_file():
            found |= {m.decode().lower() for m in ADDRESS.findall(path.read_bytes())}
    return found


def public_urls(client) -> list[str]:
    urls = ["/", "/articles/", "/flux/rss/", "/flux/atom/", "/sitemap.xml", "/robots.txt"]
    urls += [a.get_absolute_url() for a in Article.objects.published()]
    urls += [c.get_absolute_url() for c in Category.objects.all()]
    urls += ["/articles/?q=Selma", "/articles/?q=exemple"]
    return urls


def test_no_imported_address_on_any_page_feed_sitemap_or_meta(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    for export in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        import_run(paths=[export])
    addresses = fixture_addresses()
    assert len(addresses) >= 10  # authors and commenters of every format carry addresses
    assert Article.objects.published().count() >= 12
    assert Comment.objects.visible().count() >= 3
    for url in public_urls(client):
        response = client.get(url, follow=True)
        assert response.status_code in (200, 404), url
        text = response.content.decode().lower()
        for address in addresses:
            assert address not in text, (url, address)
        assert "@exemple-" not in text, url
        assert "{'" not in text and "&#x27;email&#x27;" not in text  # no Python dict shown
