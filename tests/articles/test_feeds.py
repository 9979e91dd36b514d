"""Atom and RSS feeds, sitemap.xml: parsed with the standard library's XML parser."""

import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime

import pytest
from django.utils.dateparse import parse_datetime

from articles.models import Article

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def test_atom_feed_is_valid_atom_with_full_content(seeds, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = client.get("/flux/atom/")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)  # noqa: S314  (our own output)
    assert feed.tag == f"{ATOM}feed"
    # RFC 4287: a feed has id, title, updated; each entry id, title, updated, a link.
    for name in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{name}") is not None and feed.find(f"{ATOM}{name}").text
    assert parse_datetime(feed.find(f"{ATOM}updated").text) is not None
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 5
    ids = set()
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{name}").text
        ids.add(entry.find(f"{ATOM}id").text)
        assert entry.find(f"{ATOM}link").get("href").startswith("http")
        content = entry.find(f"{ATOM}content")
        assert content.get("type") == "html"
        article = Article.objects.get(title=entry.find(f"{ATOM}title").text)
        assert content.text == article.body_html  # the full text, not an excerpt
        assert entry.find(f"{ATOM}summary").text == article.description
    assert len(ids) == 5
    first = Article.objects.get(source_path__endswith="000_44d30dadf588b13b.txt")
    entry = next(e for e in entries if e.find(f"{ATOM}title").text == first.title)
    marvin = next(
        e for e in entries if e.find(f"{ATOM}title").text == "Ce serait vraiment bien si..."
    )
    assert marvin.find(f"{ATOM}author/{ATOM}name").text == "MarvinL"
    assert sorted(c.get("term") for c in entry.findall(f"{ATOM}category")) == [
        "Clients",
        "Entrepreneuriat",
        "Produits",
        "Startup",
    ]


def test_rss_feed_is_valid_rss_with_full_content(seeds, client):
    response = client.get("/flux/rss/")
    assert response["Content-Type"].startswith("application/rss+xml")
    rss = ET.fromstring(response.content)  # noqa: S314  (our own output)
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    channel = rss.find("channel")
    for name in ("title", "link", "description"):
        assert channel.find(name).text
    assert channel.find("language").text == "fr"
    items = channel.findall("item")
    assert len(items) == 5
    for item in items:
        assert item.find("title").text and item.find("link").text.startswith("http")
        assert item.find("guid").text.startswith("http")
        if item.find("pubDate") is not None:  # undated articles carry no date
            assert parsedate_to_datetime(item.find("pubDate").text).tzinfo is not None
        article = Article.objects.get(title=item.find("title").text)
        assert item.find(f"{CONTENT}encoded").text == article.body_html
    # The two undated seeds come last, with no date rather than the import's date.
    assert [i.find("pubDate") is None for i in items] == [False, False, False, True, True]
    dated = [parsedate_to_datetime(i.find("pubDate").text) for i in items[:3]]
    assert dated == sorted(dated, reverse=True)
    author = next(i for i in items if i.find("title").text == "Ce serait vraiment bien si...")
    assert author.find("{http://purl.org/dc/elements/1.1/}creator").text == "MarvinL"


def test_sitemap_lists_every_published_article(seeds, client):
    response = client.get("/sitemap.xml")
    urlset = ET.fromstring(response.content)  # noqa: S314  (our own output)
    assert urlset.tag == f"{SITEMAP}urlset"
    locations = [u.find(f"{SITEMAP}loc").text for u in urlset.findall(f"{SITEMAP}url")]
    for article in Article.objects.all():
        assert any(loc.endswith(article.get_absolute_url()) for loc in locations)
    assert any(loc.endswith("/ce-serait-bien-si") for loc in locations)
    assert not any(loc.endswith("/categories/category1/") for loc in locations)  # hidden
