"""« Publier et envoyer » from the article admin: publish, make the mailing to the lists
chosen, check, send now or later; nothing changes when a check blocks."""

import datetime as dt
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article, Status
from mailings.models import Mailing
from signups.models import MailingList

from .factories import subscribers

pytestmark = pytest.mark.django_db
SEEDS = Path(settings.BASE_DIR) / "seeds" / "articles"


@pytest.fixture(autouse=True)
def _lists():
    from signups.bootstrap import create_lists

    create_lists(stdout=io.StringIO())


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser("editrice", "editrice@pouls.example", "x")
    client.force_login(user)
    return user


def draft_article() -> Article:
    return Article.objects.create(
        title="Trois questions avant de construire",
        slug="trois-questions",
        description="Écoutez d’abord.",
        body="Le texte, et [l’atelier](/atelier/).",
        status=Status.DRAFT,
    )


def test_publish_and_schedule_to_the_lists_chosen(client, editor):
    atelier = MailingList.objects.get(slug="atelier")
    subscribers(3, atelier)
    subscribers(2, MailingList.objects.get(slug="newsletter"))
    article = draft_article()
    page = client.get(f"/admin/articles/article/{article.pk}/change/").content.decode()
    assert f'href="/admin/articles/article/{article.pk}/publier-et-envoyer/"' in page
    page = client.get(f"/admin/articles/article/{article.pk}/publier-et-envoyer/").content.decode()
    assert "checked" not in page.split('name="lists"')[1].split("</ul>")[0]  # no list imposed
    day = timezone.localdate() + dt.timedelta(days=1)
    response = client.post(
        f"/admin/articles/article/{article.pk}/publier-et-envoyer/",
        {
            "lists": [atelier.pk],
            "when": "later",
            "send_date": day.isoformat(),
            "send_time": "07:30",
            "time_zone": "Europe/Paris",
        },
    )
    mailing = Mailing.objects.get()
    confirm_url = f"/admin/mailings/mailing/{mailing.pk}/programmer/?article={article.pk}"
    assert response["Location"] == confirm_url
    confirm = client.get(confirm_url).content.decode()
    assert "sera publié maintenant" in confirm
    assert 'id="schedule-count">3 contacts<' in confirm
    # The article's own page does not answer yet; it will once published with the send.
    assert "Rien ne bloque l’envoi." in confirm
    article.refresh_from_db()
    assert article.status == Status.DRAFT
    page = client.post(confirm_url, {"now": ""}, follow=True).content.decode()
    assert "Article publié." in page and "Mailing programmé." in page
    article.refresh_from_db()
    mailing.refresh_from_db()
    assert article.is_live
    assert mailing.status == Mailing.Status.SCHEDULED
    assert list(mailing.lists.all()) == [atelier]
    assert f"(https://pouls.example{article.get_absolute_url()})" in mailing.body
    assert client.get(article.get_absolute_url()).status_code == 200


def test_seed_article_000_with_missing_images_is_neither_published_nor_sent(
    client, editor, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    call_command("import_articles", str(SEEDS / "000_44d30dadf588b13b.txt"), stdout=io.StringIO())
    article = Article.objects.get()
    Article.objects.filter(pk=article.pk).update(status=Status.DRAFT)
    newsletter = MailingList.objects.get(slug="newsletter")
    subscribers(2, newsletter)
    response = client.post(
        f"/admin/articles/article/{article.pk}/publier-et-envoyer/",
        {"lists": [newsletter.pk], "when": "now", "time_zone": "Europe/Paris"},
    )
    confirm_url = response["Location"]
    assert confirm_url.endswith("&maintenant=1")
    confirm = client.get(confirm_url).content.decode()
    assert "Image introuvable : ./asset-1.jpeg" in confirm
    assert "Publier et envoyer maintenant" not in confirm
    page = client.post(confirm_url, {"now": "1"}, follow=True).content.decode()
    assert "L’envoi est bloqué" in page
    article.refresh_from_db()
    assert article.status == Status.DRAFT
    assert Mailing.objects.get().status == Mailing.Status.DRAFT
