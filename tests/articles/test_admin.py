"""The editor's side, through the admin: writing, previewing, publishing, moderating."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Comment, CommentStatus, Status

from .helpers import make_article

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client, admin_user):
    client.force_login(admin_user)
    return client


def form_data(**overrides):
    now = timezone.localtime()
    data = {
        "title": "Écouter ses clients",
        "slug": "ecouter-ses-clients",
        "description": "",
        "body": "## Pourquoi\n\nParce qu’ils **paient**.\n\n![Schéma](./absent.png)",
        "status": Status.PUBLISHED,
        "published_at_0": now.strftime("%d/%m/%Y"),
        "published_at_1": now.strftime("%H:%M:%S"),
        "author": "Selma",
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


def test_editor_writes_markdown_and_it_is_rendered(editor, client):
    page = editor.get(reverse("admin:articles_article_add"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="body"' in html and 'name="body_html"' not in html
    assert "Aperçu de la page" in html
    response = editor.post(reverse("admin:articles_article_add"), form_data())
    assert response.status_code == 302, response.content.decode()[:3000]
    article = Article.objects.get()
    assert "<h2>Pourquoi</h2>" in article.body_html
    assert "<strong>paient</strong>" in article.body_html
    assert article.description == "Parce qu’ils paient."
    assert client.get(article.get_absolute_url()).status_code == 200


def test_preview_renders_the_unsaved_form(editor):
    response = editor.post(
        reverse("admin:articles_article_preview"), form_data(title="Brouillon d’essai")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Brouillon d’essai</h1>" in html
    assert "<h2>Pourquoi</h2>" in html
    assert '<span class="image-missing">Schéma</span>' in html
    assert "Aperçu" in html
    assert Article.objects.count() == 0  # nothing saved


def test_preview_requires_staff(client):
    response = client.post(reverse("admin:articles_article_preview"), form_data())
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_future_publication_date_publishes_then(editor, client):
    later = timezone.localtime() + dt.timedelta(days=1)
    response = editor.post(
        reverse("admin:articles_article_add"),
        form_data(
            published_at_0=later.strftime("%d/%m/%Y"), published_at_1=later.strftime("%H:%M:%S")
        ),
    )
    assert response.status_code == 302
    article = Article.objects.get()
    assert not article.is_live
    reader = type(client)()
    assert reader.get(article.get_absolute_url()).status_code == 404
    with time_machine.travel(later + dt.timedelta(minutes=1)):
        assert reader.get(article.get_absolute_url()).status_code == 200
        assert article.title in reader.get("/").content.decode()


def test_publish_and_unpublish_actions(editor, client):
    draft = make_article(status=Status.DRAFT, published_at=None)
    changelist = reverse("admin:articles_article_changelist")
    editor.post(changelist, {"action": "publish_now", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == Status.PUBLISHED and draft.published_at is not None
    assert type(client)().get(draft.get_absolute_url()).status_code == 200
    editor.post(changelist, {"action": "unpublish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert type(client)().get(draft.get_absolute_url()).status_code == 404


def test_changelist_filters_and_search(editor, seeds):
    changelist = reverse("admin:articles_article_changelist")
    html = editor.get(changelist, {"q": "passion"}).content.decode()
    assert "Vivre de sa passion? Ah non!" in html and "Investissez" not in html
    html = editor.get(
        changelist,
        {
            "status__exact": "published",
            "categories__id__exact": Article.objects.get(
                source_path__endswith="004_7ac66da6087d6e44.txt"
            )
            .categories.get()
            .pk,
        },
    ).content.decode()
    assert "Investissez" in html and "Vivre de sa passion" not in html
    html = editor.get(changelist).content.decode()
    assert "Brouillon" in html  # the status filter is offered
    article = Article.objects.get(source_path__endswith="000_44d30dadf588b13b.txt")
    change = editor.get(
        reverse("admin:articles_article_change", args=[article.pk])
    ).content.decode()
    assert "Image absente : ./asset-1.jpeg" in change  # import warnings shown to the editor


def test_comment_moderation_approve_hide_reply(editor, client, seeds):
    article = Article.objects.get(source_path__endswith="003_961bea9e70fa6df5.txt")
    comment = article.comments.get(position=1)
    changelist = reverse("admin:articles_comment_changelist")
    editor.post(changelist, {"action": "hide", "_selected_action": [comment.pk]})
    comment.refresh_from_db()
    assert comment.status == CommentStatus.HIDDEN
    assert (
        "Oups\u202f! Et bien justement"
        not in type(client)().get(article.get_absolute_url()).content.decode()
    )
    editor.post(changelist, {"action": "approve", "_selected_action": [comment.pk]})
    comment.refresh_from_db()
    assert comment.status == CommentStatus.APPROVED
    assert (
        "Oups\u202f! Et bien justement"
        in type(client)().get(article.get_absolute_url()).content.decode()
    )
    # Reply: the list links to a prefilled form.
    listing = editor.get(changelist).content.decode()
    reply_url = (
        f"{reverse('admin:articles_comment_add')}?parent={comment.pk}&amp;article={article.pk}"
    )
    assert reply_url in listing
    form = editor.get(reply_url.replace("&amp;", "&")).content.decode()
    assert f'value="{comment.pk}"' in form
    response = editor.post(
        reverse("admin:articles_comment_add"),
        {
            "article": article.pk,
            "parent": comment.pk,
            "author": "Selma",
            "body": "Merci Evelyne !",
            "status": "approved",
            "position": 0,
            "created_at_0": "01/01/2024",
            "created_at_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    reply = Comment.objects.get(body="Merci Evelyne !")
    assert reply.parent == comment and reply.status == CommentStatus.APPROVED
    assert reply.position == 25  # after the imported ones
    html = type(client)().get(article.get_absolute_url()).content.decode()
    assert "Merci Evelyne\u202f!" in html


def test_derived_standfirst_follows_the_text_but_a_written_one_stays(db):
    article = make_article(body="Premier texte de l’article.", description="")
    assert article.description == "Premier texte de l’article."
    article.body = "Texte réécrit par l’éditrice."
    article.save()
    assert article.description == "Texte réécrit par l’éditrice."
    article.description = "Un chapeau écrit à la main."
    article.body = "Encore un autre texte."
    article.save()
    assert article.description == "Un chapeau écrit à la main."


def test_editor_renames_an_article_and_its_old_address_still_leads_to_it(editor, client):
    editor.post(reverse("admin:articles_article_add"), form_data())
    article = Article.objects.get()
    change = reverse("admin:articles_article_change", args=[article.pk])
    response = editor.post(change, form_data(slug="ecouter-vraiment-ses-clients"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(article.redirects.values_list("old_path", flat=True)) == [
        "/articles/ecouter-ses-clients/"
    ]
    client.logout()
    old = client.get("/articles/ecouter-ses-clients/")
    assert old.status_code == 301
    assert old["Location"] == "/articles/ecouter-vraiment-ses-clients/"
    # A plain save (a publication, a script) changes no address and writes no redirect.
    article.refresh_from_db()
    article.save()
    assert article.redirects.count() == 1
