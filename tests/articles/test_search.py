"""Search from the header of every page, accents ignored: « clientele » finds « clientèle »."""

import re

from articles.models import Article
from tests.articles.test_import_seeds import by_source


def test_header_search_box_on_every_page(seeds, client):
    for path in ("/", "/newsletter/", by_source("003_961bea9e70fa6df5.txt").get_absolute_url()):
        html = client.get(path).content.decode()
        form = re.search(
            r'<form class="header-search" role="search" method="get" action="/articles/">', html
        )
        assert form, path
        assert '<input id="header-search-q" type="search" name="q"' in html


def test_accents_are_ignored_either_way(seeds, client):
    article = by_source("002_161b8d63d52d43f6.txt")
    assert "clientèle" in article.body
    for query in ("clientele", "CLIENTÈLE", "clientèle"):
        found = list(Article.objects.published().search(query))
        assert article in found, query
    html = client.get("/articles/?q=clientele").content.decode()
    assert article.get_absolute_url() in html
    # A word in no article finds nothing.
    assert not Article.objects.published().search("zygomatiqueux").exists()


def test_postgresql_uses_the_french_unaccent_configuration(seeds, postgres):
    with postgres.cursor() as cursor:
        cursor.execute("SELECT to_tsvector('french_unaccent', 'La clientèle des entrepreneurs')")
        (vector,) = cursor.fetchone()
    assert "'clientel'" in vector and "'entrepreneur'" in vector
