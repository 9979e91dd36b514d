"""Upgrading an installation that already holds comments."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("articles", "0004_undated_articles_hidden_categories")]


def _latest(executor):
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] == "articles"]


@pytest.mark.django_db(transaction=True)
def test_comments_migration_upgrades_a_table_with_threaded_comments(postgres):
    executor = MigrationExecutor(connection)
    latest = _latest(executor)
    executor.migrate(BEFORE)
    try:
        apps = executor.loader.project_state(BEFORE).apps
        article = apps.get_model("articles", "Article").objects.create(
            title="Écouter", slug="ecouter", body="Texte."
        )
        comment = apps.get_model("articles", "Comment")
        reader = comment.objects.create(
            article=article,
            author="Evelyne",
            body="Merci !",
            position=0,
            imported=True,
            status="approved",
        )
        comment.objects.create(
            article=article,
            author="",
            body="Bonjour Evelyne! Avec plaisir.",
            position=1,
            imported=True,
            parent=reader,
            status="approved",
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)  # raised « pending trigger events » in one transaction

    from articles.models import Comment

    reply = Comment.objects.get(parent__isnull=False)
    assert reply.is_author
    assert reply.created_at is None
    assert not Comment.objects.get(parent__isnull=True).is_author
