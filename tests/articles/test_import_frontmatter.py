"""Front matter as real exports write it (Jekyll from WordPress, Hugo, Eleventy)."""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings

from articles.models import Article, Category, Redirect, Status

from .conftest import import_paths

pytestmark = pytest.mark.django_db

FIXTURES = Path(settings.BASE_DIR) / "tests" / "fixtures" / "import"
PARIS = dt.timezone(dt.timedelta(hours=1))


@pytest.fixture
def imported(db):
    return import_paths(FIXTURES / "jekyll", FIXTURES / "hugo", FIXTURES / "eleventy")


def by_file(name: str) -> Article:
    return Article.objects.get(source_path__endswith=name)


def test_binary_tags_are_decoded_not_refused(imported):
    article = by_file("2015-03-12-lean-startup-comment-commencer.md")
    assert article.title == "Le lean startup: comment commencer\xa0?"
    assert article.slug == "le-lean-startup-comment-commencer"
    assert article.published_at == dt.datetime(2015, 3, 12, 10, 20, tzinfo=PARIS)
    assert article.extra["meta"]["_wp_old_slug"] == "lean-startup"
    assert article.extra["meta"]["_thumbnail"] == {"id": 12}  # unknown tag: plain data
    assert "échec :" not in imported


def test_author_mapping_shows_display_name_only(imported, client):
    article = by_file("2015-03-12-lean-startup-comment-commencer.md")
    assert article.author == "Selma Dupont"
    assert any("Adresse e-mail" in w for w in article.import_warnings)
    assert by_file("2014-06-02-les-apps.md").author == "Marc Leblanc"
    assert by_file("idee-en-cours.md").author == "Selma Dupont, Marc Leblanc"
    assert by_file("hugo-toml.md").author == "Selma Dupont, Marc Leblanc"
    assert by_file("notes-sans-date.md").author == ""  # an address alone is no name


def test_entity_titles_are_decoded_and_slugged_from_the_decoded_title(imported):
    article = by_file("2014-06-02-les-apps.md")
    assert article.title == "Les apps\xa0: mode d’emploi"
    assert article.slug == "les-apps-mode-demploi"
    assert "nbsp" not in article.slug and "8217" not in article.slug


def test_tags_and_categories_in_every_shape(imported):
    lean = by_file("2015-03-12-lean-startup-comment-commencer.md")
    assert sorted(lean.categories.values_list("name", flat=True)) == ["Marketing", "Stratégie"]
    assert lean.extra["tags"] == ["lean", "clients"]
    apps = by_file("2014-06-02-les-apps.md")
    assert apps.extra["tags"] == ["apps", "mobile"]
    assert by_file("onze.md").extra["tags"] == ["post"]
    assert list(by_file("hugo-toml.md").categories.values_list("name", flat=True)) == ["Technique"]


def test_placeholder_category_is_hidden_with_a_warning(imported, client):
    apps = by_file("2014-06-02-les-apps.md")
    assert Category.objects.get(name="category1").hidden
    assert not Category.objects.get(name="Outils").hidden
    assert any("category1" in w for w in apps.import_warnings)
    assert "avertissement : Catégorie « category1 »" in imported
    page = client.get(apps.get_absolute_url()).content.decode()
    assert "Outils" in page and "category1" not in page


def test_drafts_stay_drafts(imported):
    assert by_file("idee-en-cours.md").status == Status.DRAFT  # draft: true, and _drafts/
    assert by_file("hugo-toml.md").status == Status.PUBLISHED  # draft = false


def test_toml_front_matter(imported):
    article = by_file("hugo-toml.md")
    assert article.title == "Un billet Hugo"
    assert article.published_at == dt.datetime(2019, 5, 4, 6, 30, tzinfo=dt.UTC)
    assert Redirect.objects.get(old_path="/anciens/hugo").article == article


def test_dates_from_the_file_name_then_undated(imported, client):
    apps = by_file("2014-06-02-les-apps.md")
    assert apps.published_at == dt.datetime(2014, 6, 2, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert not apps.undated
    notes = by_file("notes-sans-date.md")
    assert notes.published_at is None and notes.undated and notes.is_live
    assert any("Non daté" in w for w in notes.import_warnings)
    listing = client.get("/articles/").content.decode()
    assert listing.index("Notes sans date") > listing.index("Les apps")  # after dated ones
    page = client.get(notes.get_absolute_url()).content.decode()
    assert "non daté" in page and "article:published_time" not in page


def test_an_editor_dating_an_undated_article_makes_it_dated(imported):
    notes = by_file("notes-sans-date.md")
    notes.published_at = dt.datetime(2013, 1, 1, tzinfo=dt.UTC)
    notes.save()
    notes.refresh_from_db()
    assert not notes.undated


def test_excerpts_and_redirects(imported):
    apps = by_file("2014-06-02-les-apps.md")
    assert apps.description == "Les applications changent tout."
    onze = by_file("onze.md")
    assert onze.title == "Onze & plus"
    assert onze.description == "Un résumé écrit à la main."
    assert onze.permalink == "/onze"
    assert Redirect.objects.get(old_path="/2020/01/onze.html").article == onze
    assert any("redirect_from" in w for w in onze.import_warnings)  # the absolute one
    assert Redirect.objects.filter(article=onze).count() == 1


def test_inline_html_is_rendered_then_sanitised(imported):
    html = by_file("2015-03-12-lean-startup-comment-commencer.md").body_html
    assert '<a href="https://exemple.fr/" rel="noopener">un lien</a>' in html
    assert "onclick" not in html and "<script" not in html and "widgets.js" not in html
    assert 'src="https://www.youtube.com/embed/dQw4w9WgXcQ"' in html
    assert "<iframe" in html and html.count("<iframe") == 1
    assert '<a href="https://pub.inconnu.example/widget"' in html  # unknown host: a link
    assert '<blockquote class="tweet">' in html
    assert "Écoutez vos clients avant de construire." in html
    assert 'href="https://twitter.com/selma/status/576012345678901248"' in html
    # The image file is not there: its caption is shown instead of a broken image.
    assert "absente.jpg" not in html
    assert '<span class="image-missing">Le tableau des hypothèses</span>' in html
    assert "<figcaption>Le tableau</figcaption>" in html


def test_reimport_is_idempotent(imported):
    again = import_paths(FIXTURES / "jekyll", FIXTURES / "hugo", FIXTURES / "eleventy")
    assert "0 créé(s), 0 mis à jour, 6 inchangé(s), 0 en échec" in again
