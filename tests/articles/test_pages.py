"""The reading site through HTTP: home, article pages, categories, addresses, metadata."""

import datetime as dt
import json
import re
from html.parser import HTMLParser

import pytest
import time_machine
from django.utils import timezone

from articles.models import Article, Comment, CommentStatus, Status
from articles.services import article_save

from .helpers import assert_well_formed, make_article

pytestmark = pytest.mark.django_db


def article_of(name: str) -> Article:
    return Article.objects.get(source_path__endswith=name)


def test_home_lists_latest_articles_with_signup_invitation(
    seeds, client, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert_well_formed(html)
    titles = re.findall(r'<h2 class="article-card-title"><a href="([^"]+)">([^<]+)</a>', html)
    assert len(titles) == 5
    # Newest first: 2019, 2017, 2015, then the two undated pages.
    assert [t[1] for t in titles[:3]] == [
        "Ce serait vraiment bien si...",
        "Oubliez votre produit, cherchez d’abord vos\u00a0clients",
        "Investissez dans ce qui Ne Peut Pas Etre Acheté",
    ]
    # The two undated pages come after the dated ones, marked « non daté », never today.
    assert html.count("non daté") == 2
    assert timezone.localdate().strftime("%Y") + "</time>" not in html
    assert ("/ce-serait-bien-si", "Ce serait vraiment bien si...") in titles
    assert 'action="/inscription/newsletter/"' in html
    assert "15 octobre 2017" in html and "24 octobre 2015" in html
    assert 'type="application/atom+xml"' in html and 'type="application/rss+xml"' in html


def test_article_page_has_all_metadata(seeds, client, settings, django_assert_max_num_queries):
    article = article_of("000_44d30dadf588b13b.txt")
    with django_assert_max_num_queries(6):
        response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert_well_formed(html)
    assert f"<h1>{article.title}</h1>" in html
    assert '<time datetime="2017-10-15T22:53:12.246000+02:00">15 octobre 2017</time>' in html
    assert "min de lecture" in html
    reading = re.search(r'<span class="reading-time">(\d+) min de lecture</span>', html)
    assert reading and int(reading.group(1)) == article.reading_minutes >= 2
    for category in ("Clients", "Entrepreneuriat", "Produits", "Startup"):
        assert f">{category}</a></li>" in html
    assert f'<link rel="canonical" href="{article.canonical_link}">' in html
    assert '<meta property="og:type" content="article">' in html
    assert f'<meta property="og:title" content="{article.title}">' in html
    assert (
        f'<meta property="og:url" content="{settings.SITE_URL}{article.get_absolute_url()}">'
        in html
    )
    assert '<meta name="twitter:card" content="summary">' in html
    assert (
        '<meta property="article:published_time" content="2017-10-15T22:53:12.246000+02:00">'
        in html
    )
    data = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    )
    assert data["@type"] == "Article" and data["headline"] == article.title
    assert data["datePublished"].startswith("2017-10-15T20:53:12.246")
    assert data["mainEntityOfPage"] == article.canonical_link
    # Invitations to the three lists, and the body with its links to our pages.
    for slug in ("newsletter", "atelier", "entretiens"):
        assert f'action="/inscription/{slug}/"' in html
    assert 'href="/atelier/"' in html and 'href="/entretiens/"' in html
    assert "<img" not in html
    assert html.count('class="image-missing"') == 3


def test_article_with_author_and_own_canonical(seeds, client, settings):
    article = article_of("001_6f7212861875f0ca.txt")
    html = client.get("/ce-serait-bien-si").content.decode()
    assert "par MarvinL" in html
    assert '<time datetime="2019-01-31T11:18:00+01:00">31 janvier 2019</time>' in html
    assert f'<link rel="canonical" href="{settings.SITE_URL}/ce-serait-bien-si">' in html
    assert '<meta property="article:author" content="MarvinL">' in html
    assert article.image == ""  # the missing front-matter image is not announced to social networks
    assert "og:image" not in html


def test_comments_are_shown_threaded(seeds, client):
    article = article_of("003_961bea9e70fa6df5.txt")
    html = client.get(article.get_absolute_url()).content.decode()
    assert_well_formed(html)
    assert '<h2 id="comments-title">24 commentaires</h2>' in html
    section = html[html.index('<section class="comments"') :]
    first = section.index("Oups\u202f! Et bien justement")
    reply = section.index("Bonjour Evelyne\u202f! Bonne piste")
    reply_to_reply = section.index("Merci, ta réponse est encourageante.")
    assert first < reply < reply_to_reply < section.index("Trèsbon article")
    # The reply sits inside the first comment's list of replies, two levels deep.
    between = section[first:reply_to_reply]
    assert between.count('<ol class="comment-replies">') == 2
    assert len(re.findall(r'<li class="comment[ "]', section)) == 24
    assert '<strong class="comment-author">Anonyme</strong>' in section  # unsigned comments


def test_hidden_comment_is_not_shown(seeds, client):
    article = article_of("003_961bea9e70fa6df5.txt")
    comment = article.comments.get(position=1)
    comment.status = CommentStatus.HIDDEN
    comment.save()
    html = client.get(article.get_absolute_url()).content.decode()
    assert "Oups\u202f! Et bien justement" not in html
    assert "Bonjour Evelyne\u202f! Bonne piste" in html  # its replies stay readable
    assert '<h2 id="comments-title">23 commentaires</h2>' in html


def test_category_page(seeds, client):
    response = client.get("/categories/produits/")
    assert response.status_code == 200
    html = response.content.decode()
    assert_well_formed(html)
    assert "Oubliez votre produit" in html and "Investissez" not in html
    assert client.get("/categories/inconnue/").status_code == 404


def test_redirect_from_and_permalink_answer_301(seeds, client):
    response = client.get("/oubliez-votre-produit-cherchez-dabord-vos-clients-51a6474e2e89")
    assert response.status_code == 301
    assert response["Location"] == "/articles/oubliez-votre-produit-cherchez-dabord-vos-clients/"
    assert (
        client.get("/oubliez-votre-produit-cherchez-dabord-vos-clients-51a6474e2e89/").status_code
        == 301
    )
    assert client.get("/ce-serait-bien-si/")["Location"] == "/ce-serait-bien-si"
    assert client.get("/page-qui-nexiste-pas").status_code == 404


def test_changed_slug_keeps_the_old_address(db, client):
    article = make_article(title="Ancien titre", slug="ancien-titre")
    article.slug = "nouveau-titre"
    article_save(article=article)
    response = client.get("/articles/ancien-titre/")
    assert response.status_code == 301 and response["Location"] == "/articles/nouveau-titre/"
    assert client.get("/articles/nouveau-titre/").status_code == 200
    # Changing it back does not create a loop.
    article.slug = "ancien-titre"
    article_save(article=article)
    assert client.get("/articles/ancien-titre/").status_code == 200
    assert client.get("/articles/nouveau-titre/")["Location"] == "/articles/ancien-titre/"


def test_draft_and_scheduled_articles_are_not_visible_until_their_time(db, client):
    now = timezone.now()
    draft = make_article(title="Brouillon", slug="brouillon", status=Status.DRAFT)
    later = make_article(
        title="Programmé", slug="programme", published_at=now + dt.timedelta(hours=2)
    )
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(later.get_absolute_url()).status_code == 404
    assert "Programmé" not in client.get("/").content.decode()
    with time_machine.travel(now + dt.timedelta(hours=2, seconds=1)):
        # Nothing was saved in between: the cached home page must not hide it.
        assert "Programmé" in client.get("/").content.decode()
        assert client.get(later.get_absolute_url()).status_code == 200


def test_search(seeds, client):
    response = client.get("/articles/", {"q": "clientèle"})
    html = response.content.decode()
    assert_well_formed(html)
    assert "Si vous saviez le nombre de fois" in html
    assert "Investissez dans ce qui" not in html
    assert (
        "Aucun article ne correspond"
        in client.get("/articles/", {"q": "xylophone"}).content.decode()
    )


def test_search_uses_french_full_text_on_postgresql(seeds, client, postgres):
    # "passionnés" finds "passion" through the French stemmer, which a substring match cannot.
    html = client.get("/articles/", {"q": "passionnés"}).content.decode()
    assert "Vivre de sa passion\u202f? Ah non\u202f!" in html
    with postgres.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'articles_article' AND indexname = %s",
            ["articles_article_search_gin"],
        )
        assert "gin (search_vector)" in cursor.fetchone()[0]


def test_body_is_sanitised(db, client):
    article = make_article(
        slug="xss",
        body="Texte <script>alert(1)</script> [lien](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n"
        '<div onclick="x()">bloc</div>',
    )
    html = client.get(article.get_absolute_url()).content.decode()
    prose = html[html.index('<div class="prose">') : html.index("</article>")]
    assert "<script" not in prose and "<div onclick" not in prose
    # Inline HTML is rendered then sanitised: the script goes whole, the block keeps its text.
    assert "&lt;script" not in prose and "\nbloc</div>" in prose
    attributes = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attributes.extend(attrs)

    Collector().feed(html)
    assert not [name for name, _value in attributes if name.startswith("on")]
    assert not [
        value for name, value in attributes if name in ("href", "src") and "javascript" in value
    ]


def test_feeds_sitemap_and_robots_are_linked(seeds, client, settings):
    robots = client.get("/robots.txt")
    assert robots["Content-Type"].startswith("text/plain")
    assert f"Sitemap: {settings.SITE_URL}/sitemap.xml" in robots.content.decode()
    assert "Disallow: /admin/" in robots.content.decode()


def test_comment_reply_by_editor_appears_under_the_comment(seeds, client):
    from articles.services import comment_reply

    article = article_of("003_961bea9e70fa6df5.txt")
    parent = article.comments.get(position=1)
    client.get(article.get_absolute_url())  # cached
    comment_reply(parent=parent, author="Selma", body="Merci Evelyne, à bientôt !")
    html = client.get(article.get_absolute_url()).content.decode()
    assert "Merci Evelyne, à bientôt\u202f!" in html
    assert Comment.objects.get(body="Merci Evelyne, à bientôt !").parent == parent


def test_other_pages_still_get_their_trailing_slash(db, client):
    # The catch-all route must not swallow CommonMiddleware's APPEND_SLASH redirects.
    response = client.get("/newsletter", {"source": "x"})
    assert response.status_code == 301 and response["Location"] == "/newsletter/?source=x"
    assert client.get("/articles")["Location"] == "/articles/"
    assert client.get("/rien-du-tout").status_code == 404


def test_head_requests_are_answered(seeds, client):
    assert client.head("/").status_code == 200
    assert client.head("/ce-serait-bien-si").status_code == 200


def test_feeds_and_sitemap_use_site_url(seeds, client, settings):
    settings.SITE_URL = "https://pouls.example.org"
    sitemap = client.get("/sitemap.xml", HTTP_HOST="127.0.0.1").content.decode()
    assert "<loc>https://pouls.example.org/ce-serait-bien-si</loc>" in sitemap
    atom = client.get("/flux/atom/", HTTP_HOST="127.0.0.1").content.decode()
    assert 'href="https://pouls.example.org/ce-serait-bien-si"' in atom
    assert '<link href="https://pouls.example.org/flux/atom/" rel="self"/>' in atom
    assert "127.0.0.1" not in atom and "127.0.0.1" not in sitemap


def test_article_without_comments_says_so(db, client):
    article = make_article()
    html = client.get(article.get_absolute_url()).content.decode()
    assert '<h2 id="comments-title">Aucun commentaire</h2>' in html


def test_an_image_that_is_there_is_shown(db, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)
    article = make_article(
        slug="photo", body="![Une photo](uploads/photo.png)\n\n![Absente](uploads/absente.png)"
    )
    html = client.get(article.get_absolute_url()).content.decode()
    assert '<img src="/media/uploads/photo.png" alt="Une photo" loading="lazy">' in html
    assert '<span class="image-missing">Absente</span>' in html
    assert client.get("/media/uploads/photo.png").status_code == 200


def test_share_image_remote_or_local(db, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "une.jpg").write_bytes(b"\xff\xd8\xff")
    remote = make_article(slug="distante", image="https://images.example.org/a.jpg")
    local = make_article(slug="locale", title="Locale", image="une.jpg")
    html = client.get(remote.get_absolute_url()).content.decode()
    assert '<meta property="og:image" content="https://images.example.org/a.jpg">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    html = client.get(local.get_absolute_url()).content.decode()
    assert f'<meta property="og:image" content="{settings.SITE_URL}/media/une.jpg">' in html


def test_article_list_is_paginated(db, client):
    now = timezone.now()
    for number in range(12):
        make_article(
            title=f"Article {number:02}",
            slug=f"article-{number}",
            published_at=now - dt.timedelta(days=number),
        )
    first = client.get("/articles/").content.decode()
    assert_well_formed(first)
    assert "Article 00" in first and "Article 09" in first and "Article 10" not in first
    assert "Page 1 sur 2" in first and 'rel="next"' in first
    second = client.get("/articles/", {"page": 2}).content.decode()
    assert "Article 10" in second and "Article 11" in second and "Article 00" not in second
