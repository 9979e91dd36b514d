"""Readers comment: the form, the address confirmed once, moderation, replies, the digest."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from articles import commenting
from articles.models import (
    Article,
    Comment,
    Commenter,
    CommentModeration,
    CommentSettings,
    CommentStatus,
)
from tests.articles.test_import_seeds import by_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(seeds):
    return by_source("001_6f7212861875f0ca.txt")


def readers():
    """The comments posted by readers (the seeds carry imported ones)."""
    return Comment.objects.filter(imported=False)


_capture = []


@pytest.fixture(autouse=True)
def _on_commit(django_capture_on_commit_callbacks):
    """Work queued after commit (the confirmation email) runs as it would in production."""
    _capture.append(django_capture_on_commit_callbacks)
    yield
    _capture.pop()


def post(client, article, **data):
    fields = {"name": "Awa", "email": "awa@example.org", "body": "Merci pour cet article.", **data}
    with _capture[-1](execute=True):
        return client.post(reverse("articles:comment_post", args=[article.slug]), fields)


def confirm_link(message) -> str:
    return re.search(r"https?://\S+/commentaires/confirmer/\S+/", message.body).group(0)


def test_first_comment_waits_for_the_address_then_for_the_editor(client, article):
    response = post(client, article)
    assert response.status_code == 303
    comment = readers().get()
    assert comment.status == CommentStatus.UNCONFIRMED and comment.created_at
    assert comment.commenter.email == "awa@example.org" and not comment.commenter.is_confirmed
    page = client.get(response["Location"]).content.decode()
    assert "ouvrez le lien que nous venons d’envoyer à awa@example.org" in page
    assert "Merci pour cet article." not in page

    (message,) = mail.outbox
    assert message.to == ["awa@example.org"]
    assert "Confirmez votre commentaire sur" in message.subject
    url = confirm_link(message).removeprefix(settings.SITE_URL)
    # The link shows one button: following it (a mail scanner does) changes nothing.
    shown = client.get(url)
    assert shown.status_code == 200 and 'method="post"' in shown.content.decode()
    comment.refresh_from_db()
    assert comment.status == CommentStatus.UNCONFIRMED

    done = client.post(url)
    assert "Adresse confirmée" in done.content.decode()
    comment.refresh_from_db()
    assert comment.commenter.is_confirmed
    # The site reviews every comment by default: it now waits for the editor.
    assert comment.status == CommentStatus.PENDING
    assert list(Comment.objects.awaiting_moderation()) == [comment]
    assert (
        "Merci pour cet article." not in Client().get(article.get_absolute_url()).content.decode()
    )

    # The link used again says the address is confirmed, without confirming anything twice.
    again = client.get(url)
    assert "Adresse déjà confirmée" in again.content.decode()


def test_confirmed_address_publishes_at_once_where_the_article_says_so(client, article):
    Commenter.objects.create(email="awa@example.org", name="Awa", confirmed_at="2026-01-01T00:00Z")
    Article.objects.filter(pk=article.pk).update(comment_moderation=CommentModeration.PUBLISH)
    article.refresh_from_db()
    response = post(client, article, body="Deuxième passage !")
    comment = readers().get()
    assert comment.status == CommentStatus.APPROVED
    assert response["Location"].endswith(f"#commentaire-{comment.pk}")
    assert not mail.outbox
    html = Client().get(article.get_absolute_url()).content.decode()
    assert "Deuxième passage" in html
    assert f'id="commentaire-{comment.pk}"' in html


def test_site_wide_choice_applies_when_the_article_follows_the_site(client, article):
    CommentSettings.objects.update_or_create(pk=1, defaults={"moderate_confirmed": False})
    Commenter.objects.create(email="awa@example.org", name="Awa", confirmed_at="2026-01-01T00:00Z")
    post(client, article)
    assert readers().get().status == CommentStatus.APPROVED
    # Someone else typing that address under another name: the editor reads it first.
    post(client, article, name="Pas Awa", body="Usurpation")
    assert readers().get(body="Usurpation").status == CommentStatus.PENDING


def test_errors_are_french_and_next_to_their_field(client, article):
    response = post(client, article, name="", email="pas-une-adresse", body="  ")
    assert response.status_code == 200
    html = response.content.decode()
    for field, message in (
        ("name", "Indiquez un nom"),
        ("email", "Cette adresse e-mail n’est pas valide"),
        ("body", "Écrivez votre commentaire"),
    ):
        errors = re.search(
            rf'<ul class="errorlist" id="id_comment_{field}_errors">(.*?)</ul>', html
        )
        assert errors and message in errors.group(1), field
    assert 'value="pas-une-adresse"' in html  # what was typed is kept
    assert not readers().exists() and not mail.outbox


def test_honeypot_is_thanked_and_ignored(client, article):
    response = post(client, article, website="http://spam.example")
    assert response.status_code == 303
    assert not readers().exists() and not mail.outbox


def test_rate_limit_per_address(client, article, settings):
    settings.COMMENTS_RATE_PER_ADDRESS = (2, 600)
    assert post(client, article, body="un").status_code == 303
    assert post(client, article, body="deux").status_code == 303
    response = post(client, article, body="trois")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "beaucoup de commentaires en peu de temps" in response.content.decode()
    assert readers().count() == 2
    # One confirmation email for the address, not one per comment.
    assert len(mail.outbox) == 1


def test_confirming_releases_every_waiting_comment_of_the_address(client, article):
    post(client, article, body="un")
    post(client, article, body="deux")
    client.post(confirm_link(mail.outbox[0]).removeprefix(settings.SITE_URL))
    assert set(readers().values_list("status", flat=True)) == {CommentStatus.PENDING}


def test_closed_comments_show_no_form_and_take_none(client, article):
    assert 'id="commenter"' in client.get(article.get_absolute_url()).content.decode()
    Article.objects.filter(pk=article.pk).update(comments_open=False)
    article.refresh_from_db()
    from articles.cache import pages_invalidate

    pages_invalidate()
    html = client.get(article.get_absolute_url()).content.decode()
    assert 'id="commenter"' not in html and "Les commentaires sont fermés" in html
    post(client, article)
    assert not readers().exists()


def test_reader_replies_under_a_comment(seeds, client):
    article = by_source("003_961bea9e70fa6df5.txt")
    evelyne = Comment.objects.get(article=article, author="Evelyne", parent=None)
    html = client.get(article.get_absolute_url() + f"?reponse={evelyne.pk}").content.decode()
    assert "Répondre à Evelyne" in html
    assert re.search(rf'<input type="hidden" name="parent" value="{evelyne.pk}"', html)
    Commenter.objects.create(email="awa@example.org", name="Awa", confirmed_at="2026-01-01T00:00Z")
    CommentSettings.objects.update_or_create(pk=1, defaults={"moderate_confirmed": False})
    post(client, article, parent=evelyne.pk, body="Moi aussi, Evelyne.")
    reply = Comment.objects.get(body="Moi aussi, Evelyne.")
    assert reply.parent == evelyne and reply.status == CommentStatus.APPROVED
    page = Client().get(article.get_absolute_url()).content.decode()
    block = page[page.index(f'id="commentaire-{evelyne.pk}"') :]
    assert block.index("Moi aussi, Evelyne.") < block.index("Trèsbon article")


def test_a_reply_to_a_hidden_comment_is_refused(seeds, client):
    article = by_source("003_961bea9e70fa6df5.txt")
    hidden = Comment.objects.filter(article=article).first()
    Comment.objects.filter(pk=hidden.pk).update(status=CommentStatus.HIDDEN)
    response = post(client, article, parent=hidden.pk)
    assert "n’est plus affiché" in response.content.decode()
    assert not Comment.objects.filter(commenter__isnull=False).exists()


def test_digest_tells_the_editor_once_per_new_batch(article):
    Comment.objects.create(article=article, author="Awa", body="À relire", status="pending")
    assert commenting.comments_digest_send() == 0  # off by default
    CommentSettings.objects.update_or_create(
        pk=1, defaults={"digest_enabled": True, "digest_to": "redaction@example.org"}
    )
    assert commenting.comments_digest_send() == 1
    (message,) = mail.outbox
    assert message.to == ["redaction@example.org"]
    assert message.subject == "1 commentaire attend votre relecture"
    assert "À relire" in message.body and "/admin/articles/comment/" in message.body
    assert commenting.comments_digest_send() == 0  # nothing new since
    assert len(mail.outbox) == 1


def test_digest_runs_from_the_daily_beat_task(article):
    from config.tasks import daily

    CommentSettings.objects.update_or_create(
        pk=1, defaults={"digest_enabled": True, "digest_to": "redaction@example.org"}
    )
    Comment.objects.create(article=article, author="Awa", body="À relire", status="pending")
    daily()
    assert [m.to for m in mail.outbox] == [["redaction@example.org"]]
