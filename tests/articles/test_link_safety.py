"""Links that come from content: a canonical link is a web address, a permalink or an old
address is a path of this site. Hostile values are refused on import and in the admin."""

import pytest
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Redirect, Status

from .conftest import import_paths
from .helpers import make_article

pytestmark = pytest.mark.django_db

HOSTILE_PATHS = [
    "//evil.example/x",
    "https://evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example\\x",
    "javascript:alert(document.domain)",
    "/ok\x00",
]


def write(tmp_path, name, front):
    (tmp_path / name).write_text(f"---\ntitle: Essai\n{front}\n---\nLe texte reste.\n", "utf-8")


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(document.domain)", "data:text/html,x", "ftp://x.example/y", "/relatif"],
)
def test_import_refuses_a_canonical_link_that_is_not_http(tmp_path, link):
    write(tmp_path, "a.md", f'canonical_link: "{link}"')
    out = import_paths(tmp_path)
    article = Article.objects.get()
    assert article.canonical_link == ""
    assert article.body_html.startswith("<p>Le texte reste.")  # the rest is imported
    assert any("Lien canonique" in w and "ignoré" in w for w in article.import_warnings)
    assert "avertissement : Lien canonique" in out


def test_import_keeps_a_https_canonical_link(tmp_path, client):
    write(tmp_path, "a.md", "canonical_link: https://medium.com/@x/essai-123")
    import_paths(tmp_path)
    article = Article.objects.get()
    assert article.canonical_link == "https://medium.com/@x/essai-123"
    assert (
        'href="https://medium.com/@x/essai-123"'
        in client.get(article.get_absolute_url()).content.decode()
    )


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_import_refuses_a_permalink_leading_elsewhere(tmp_path, client, path):
    write(tmp_path, "a.md", f"permalink: {path!r}".replace("'", '"'))
    import_paths(tmp_path)
    article = Article.objects.get()
    assert article.permalink == ""
    assert any("permalink" in w and "ignoré" in w for w in article.import_warnings)
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200  # no 301 to another site
    for page in ("/", "/sitemap.xml", "/flux/rss/", "/flux/atom/"):
        assert "evil.example" not in client.get(page).content.decode()


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_import_refuses_a_redirect_source_leading_elsewhere(tmp_path, path):
    front = f"redirect_from:\n  - /ancienne\n  - {path!r}".replace("'", '"')
    write(tmp_path, "a.md", front)
    import_paths(tmp_path)
    article = Article.objects.get()
    assert list(Redirect.objects.values_list("old_path", flat=True)) == ["/ancienne"]
    assert any("redirect_from" in w for w in article.import_warnings)


def test_import_accepts_site_paths(tmp_path):
    write(tmp_path, "a.md", "permalink: blog/mon-article/\nredirect_from: /2015/03/ancien/")
    import_paths(tmp_path)
    article = Article.objects.get()
    assert article.permalink == "/blog/mon-article"
    assert Redirect.objects.get().old_path == "/2015/03/ancien"
    assert not any("ignoré" in w for w in article.import_warnings)


@pytest.fixture
def editor(client, admin_user):
    client.force_login(admin_user)
    return client


def admin_form(**overrides):
    now = timezone.localtime()
    data = {
        "title": "Écouter",
        "slug": "ecouter",
        "description": "",
        "body": "Texte.",
        "status": Status.PUBLISHED,
        "published_at_0": now.strftime("%d/%m/%Y"),
        "published_at_1": now.strftime("%H:%M:%S"),
        "author": "",
        "permalink": "",
        "canonical_link": "",
        "image": "",
        "extra": "{}",
        "redirects-TOTAL_FORMS": "0",
        "redirects-INITIAL_FORMS": "0",
        "redirects-MIN_NUM_FORMS": "0",
        "redirects-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_admin_refuses_a_permalink_leading_elsewhere(editor, path):
    response = editor.post(reverse("admin:articles_article_add"), admin_form(permalink=path))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "permalink" in errors
    assert not Article.objects.exists()


@pytest.mark.parametrize("link", ["javascript:alert(document.domain)", "ftp://x.example/y"])
def test_admin_refuses_a_canonical_link_that_is_not_http(editor, link):
    response = editor.post(reverse("admin:articles_article_add"), admin_form(canonical_link=link))
    assert response.status_code == 200
    assert "canonical_link" in response.context["adminform"].form.errors
    assert not Article.objects.exists()


def test_admin_refuses_a_redirect_source_leading_elsewhere(editor):
    article = make_article()
    response = editor.post(
        reverse("admin:articles_redirect_add"),
        {"old_path": "//evil.example/x", "article": article.pk},
    )
    assert response.status_code == 200
    assert "old_path" in response.context["adminform"].form.errors
    data = admin_form(
        slug=article.slug,
        **{
            "redirects-TOTAL_FORMS": "1",
            "redirects-0-old_path": "https://evil.example/",
            "redirects-0-article": str(article.pk),
        },
    )
    response = editor.post(reverse("admin:articles_article_change", args=[article.pk]), data)
    assert response.status_code == 200
    assert not Redirect.objects.exists()


def test_admin_accepts_a_site_path_and_an_https_link(editor):
    response = editor.post(
        reverse("admin:articles_article_add"),
        admin_form(permalink="/ce-serait-bien-si", canonical_link="https://exemple.fr/a"),
    )
    assert response.status_code == 302
    article = Article.objects.get()
    assert (article.permalink, article.canonical_link) == (
        "/ce-serait-bien-si",
        "https://exemple.fr/a",
    )
