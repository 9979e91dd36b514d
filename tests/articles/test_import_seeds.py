"""The five seed documents, one by one: each breaks a naive importer in its own way."""

import datetime as dt
import re
import zoneinfo

import pytest

from articles.models import Article, Comment

pytestmark = pytest.mark.django_db

MOJIBAKE = ("Ã", "â€", "ğŸ", "Â", "\ufffd", "👠")
UTC = dt.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def by_source(name: str) -> Article:
    return Article.objects.get(source_path__endswith=name)


def all_text(article: Article) -> str:
    return " ".join(
        [
            article.title,
            article.description,
            article.body,
            article.body_html,
            *article.comments.values_list("body", flat=True),
        ]
    )


def test_every_seed_is_imported_once_without_mojibake(seeds):
    assert Article.objects.count() == 5
    for article in Article.objects.all():
        text = all_text(article)
        for garbage in MOJIBAKE:
            assert garbage not in text, (article.source_path, garbage)
        assert "<img" not in article.body_html  # every referenced image is missing
        assert article.is_live


def test_000_mojibake_repaired_with_french_typography_kept(seeds, client):
    article = by_source("000_44d30dadf588b13b.txt")
    assert article.title == "Oubliez votre produit, cherchez d’abord vos\u00a0clients"
    assert article.description.startswith(
        "Le dénominateur commun de la réussite et de l’échec, pour l’entrepreneur"
    )
    assert article.description.endswith("chacun d’entre nous a…")
    assert "’" in article.body and "'" not in article.title
    assert "La suite\u00a0?" in article.body  # non-breaking space before ? kept
    assert (
        "“Le marché n’est pas prêt\u00a0! Sinon, il aurait reconnu la valeur de notre produit.”"
        in article.body
    )
    assert "des “à-ne-surtout-pas-faire” qui" in article.body  # the ” whose last byte was lost
    # The damaged emoji are removed cleanly: no garbage, no wrong character, no stray space.
    assert (
        "Et surtout applaudissez, ça pourrait aider d’autres personnes à retrouver l’article."
        in article.body
    )
    assert article.published_at == dt.datetime(2017, 10, 15, 20, 53, 12, 246000, tzinfo=UTC)
    assert sorted(article.categories.values_list("name", flat=True)) == [
        "Clients",
        "Entrepreneuriat",
        "Produits",
        "Startup",
    ]
    assert article.canonical_link == (
        "https://medium.com/@kamganelson/oubliez-votre-produit-cherchez-dabord-vos-clients-51a6474e2e89"
    )
    assert (
        article.get_absolute_url() == "/articles/oubliez-votre-produit-cherchez-dabord-vos-clients/"
    )
    response = client.get("/oubliez-votre-produit-cherchez-dabord-vos-clients-51a6474e2e89")
    assert response.status_code == 301
    assert response["Location"] == article.get_absolute_url()
    # The interview invitation points to our own signup page, not to the dead site.
    assert "inscrivez-vous juste [ici](/entretiens/)" in article.body
    assert "wasexo" not in article.body
    assert 'inscrivez-vous juste <a href="/entretiens/"' in article.body_html
    # Missing images: caption readable (with its link), reported, never a broken <img>.
    assert article.body_html.count('class="image-missing"') == 3
    assert (
        'Source: <a href="http://1001startups.fr/startup-causes-principales-echec/"'
        in article.body_html
    )
    assert "Ne cherchez pas de clients pour vos produits" in article.body_html
    assert any("./asset-1.jpeg" in w for w in article.import_warnings)
    assert any("émojis" in w for w in article.import_warnings)


def test_001_indented_front_matter_and_permalink(seeds, client):
    article = by_source("001_6f7212861875f0ca.txt")
    assert article.title == "Ce serait vraiment bien si..."
    assert article.author == "MarvinL"
    assert article.published_at == dt.datetime(2019, 1, 31, 10, 18, tzinfo=UTC)
    assert list(article.categories.values_list("name", flat=True)) == ["Business"]
    assert article.permalink == "/ce-serait-bien-si"
    assert article.extra["layout"] == "post"  # unknown keys are kept
    assert article.body.startswith("**EDITO**")
    assert "permalink:" not in article.body and "---" not in article.body.splitlines()[0]
    assert "<h1" not in article.body_html  # the page title is the only h1
    assert '<h2>"Ce serait vraiment bien si…"</h2>' in article.body_html
    assert "<h3>Itérer et continuer d’innover…</h3>" in article.body_html.replace("'", "’")
    assert article.image == ""
    assert article.extra["image_missing"] == "uploads/2019/08/ross-findon-mG28olYFgHI-unsplash.jpg"
    assert any("uploads/2019/08/ross-findon" in w for w in article.import_warnings)
    assert client.get("/ce-serait-bien-si").status_code == 200
    old = client.get(f"/articles/{article.slug}/")
    assert old.status_code == 301 and old["Location"] == "/ce-serait-bien-si"


def test_002_no_front_matter_title_from_first_sentence(seeds):
    article = by_source("002_161b8d63d52d43f6.txt")
    assert article.title == (
        "Si vous saviez le nombre de fois où je fais réaliser à des entrepreneurs "
        "qu’ils ne ciblent pas la bonne clientèle"
    )
    assert len(article.title) <= 120
    assert article.body.startswith(
        "Si vous saviez le nombre de fois"
    )  # the sentence stays in the text
    assert article.description.startswith("Si vous saviez le nombre de fois")
    assert article.categories.count() == 0
    assert article.body_html.count("<li>") == 7
    assert "<li>S’agit-il d’un autre entrepreneur?</li>" in article.body_html
    assert "•" not in article.body_html
    assert "20\u00a0000\u00a0$" in article.body  # non-breaking spaces kept
    assert any("date" in w for w in article.import_warnings)


def test_003_scraped_page_chrome_dropped_quotes_and_lists(seeds):
    article = by_source("003_961bea9e70fa6df5.txt")
    assert article.title == "Vivre de sa passion? Ah non!"
    for chrome in (
        "Menu",
        "≡",
        "Click to Tweet",
        "Leave a Comment",
        "Partages",
        "Tweetez",
        "Enregistrer",
        "+1",
        "add one",
        "#entrepreneurs",
    ):
        assert chrome not in article.body, chrome
        assert chrome not in article.body_html, chrome
    assert article.description.startswith("Phénomène de mode, et/ou miroir aux alouettes ?")
    assert "•" not in article.body_html
    assert "<li>Quand un client achète ce que tu vends" in article.body_html
    quotes = re.findall(r"<blockquote>(.*?)</blockquote>", article.body_html, re.S)
    assert len(quotes) == 4
    assert "La passion ne suffit pas. Ce n'est que le ticket d'entrée !" in quotes[1]
    assert "«&nbsp;Sans exception" in quotes[0] and "Danielle Laporte" in quotes[0]
    assert "<h2>Ta passion peut te freiner</h2>" in article.body_html
    # The workshop invitation points to our own workshop page.
    link = re.search(r'<a href="/atelier/"[^>]*>([^<]*)</a>', article.body_html)
    assert link and "Comment lire dans les pensées de ses clients" in link.group(1)
    # The comments are not part of the article text.
    assert "Evelyne" not in article.body


def test_003_comments_with_authors_order_and_threading(seeds):
    article = by_source("003_961bea9e70fa6df5.txt")
    comments = list(article.comments.order_by("position"))
    # The page header announces 27; the file holds 24 comments (replies included). All of
    # them are imported, and the gap is reported instead of inventing comments.
    assert len(comments) == 24
    assert any("27 commentaires" in w and "24" in w for w in article.import_warnings)
    assert all(c.status == "approved" and c.imported for c in comments)
    assert [c.position for c in comments] == list(range(1, 25))
    top_level = [c for c in comments if c.parent_id is None]
    assert len(top_level) == 13
    evelyne, answer, evelyne_again = comments[0], comments[1], comments[2]
    assert evelyne.author == "Evelyne" and evelyne.body.startswith("Oups ! Et bien justement")
    assert "J’aimerais leur rendre un mélange de couleurs" in evelyne.body  # multi-line body kept
    assert answer.parent == evelyne and answer.body.startswith("Bonjour Evelyne!")
    assert evelyne_again.parent == answer and evelyne_again.author == "Evelyne"
    assert evelyne_again.body == "Merci, ta réponse est encourageante."
    arye = Comment.objects.get(article=article, body__startswith="Bonjour,\n\nJe suis vraiment")
    emma = Comment.objects.get(article=article, author="Emma")
    assert emma.parent == arye
    assert Comment.objects.get(article=article, body__startswith="Bonjour Emma,").parent == emma
    assert [c.author for c in top_level if c.author] == [
        "Evelyne",
        "Celia Pascaud-Clement",
        "Delphine",
        "Roseline",
        "Marion",
        "carole",
        "Marie",
    ]
    assert comments[-1].body.endswith("Claudia de YogaPassion")


def test_004_bare_date_and_placeholder_category(seeds, client):
    article = by_source("004_7ac66da6087d6e44.txt")
    assert article.title == "Investissez dans ce qui Ne Peut Pas Etre Acheté"
    assert article.published_at == dt.datetime(2015, 10, 24, 21, 38, 12, tzinfo=PARIS)
    assert list(article.categories.values_list("name", flat=True)) == ["category1"]
    assert article.extra == {"layout": "post"}
    assert "<blockquote>" in article.body_html
    assert "<li>Image de marque (Mailchimp)</li>" in article.body_html
    # « category1 » is a placeholder: kept, hidden from readers, and the editor is told.
    assert article.categories.get().hidden
    assert any("category1" in w and "masquée" in w for w in article.import_warnings)
    assert client.get("/categories/category1/").status_code == 404
    assert "category1" not in client.get(article.get_absolute_url()).content.decode()
