"""How comments read under an article: who wrote them, when, threaded."""

import re

from django.urls import reverse

from articles.models import Comment, CommentStatus
from tests.articles.test_import_seeds import by_source


def test_003_unnamed_replies_to_readers_are_the_authors(seeds, client, settings):
    settings.SITE_AUTHOR = "Selma"
    article = by_source("003_961bea9e70fa6df5.txt")
    answer = Comment.objects.get(article=article, body__startswith="Bonjour Evelyne!")
    aurelie = Comment.objects.get(article=article, body__startswith="Hello Aurélie!")
    reader = Comment.objects.get(article=article, body__startswith="Trèsbon article")
    assert answer.is_author and aurelie.is_author
    # A reader who left no name stays a reader.
    assert not reader.is_author and reader.parent is None
    assert not Comment.objects.filter(article=article, is_author=True).exclude(author="").exists()

    html = client.get(article.get_absolute_url()).content.decode()
    block = html[html.index(f'id="commentaire-{answer.pk}"') :]
    block = block[: block.index("</article>")]
    assert not article.author and "Selma" in block  # the article names no author
    assert "auteur de l’article" in block
    assert "Anonyme" not in block
    # Imported comments carry no date of their own: none is invented.
    assert "<time" not in block


def test_editor_reply_from_the_admin_is_the_authors_and_dated(seeds, admin_client):
    article = by_source("003_961bea9e70fa6df5.txt")
    evelyne = Comment.objects.get(article=article, author="Evelyne", parent=None)
    response = admin_client.post(
        reverse("admin:articles_comment_add"),
        {
            "article": article.pk,
            "parent": evelyne.pk,
            "author": "admin",
            "body": "Merci Evelyne, à bientôt.",
            "status": CommentStatus.APPROVED,
            "position": 0,
            "created_at_0": "30/11/2026",
            "created_at_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    reply = Comment.objects.get(body="Merci Evelyne, à bientôt.")
    assert reply.is_author and reply.parent == evelyne and reply.created_at is not None

    html = client_html(article)
    block = html[html.index(f'id="commentaire-{reply.pk}"') :]
    assert re.search(r'<time class="muted" datetime="[^"]+">', block[: block.index("</article>")])


def client_html(article) -> str:
    from django.test import Client

    return Client().get(article.get_absolute_url()).content.decode()


def test_awaiting_moderation_counts_only_confirmed_pending(seeds):
    article = by_source("001_6f7212861875f0ca.txt")
    Comment.objects.create(article=article, body="a", status=CommentStatus.PENDING)
    Comment.objects.create(article=article, body="b", status=CommentStatus.UNCONFIRMED)
    Comment.objects.create(article=article, body="c", status=CommentStatus.HIDDEN)
    assert list(Comment.objects.awaiting_moderation().values_list("body", flat=True)) == ["a"]
