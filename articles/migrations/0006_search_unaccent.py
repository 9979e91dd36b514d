"""Accent-insensitive French search on PostgreSQL: « clientele » finds « clientèle ».

A text search configuration `french_unaccent`, the French one with `unaccent` before
the stemmer, and the stored vectors recomputed with it. (`unaccent` is a trusted
extension since PostgreSQL 13: the database's owner may create it.) SQLite searches
with an accent-folding function registered on each connection (articles/apps.py).
"""

from django.db import migrations

CONFIG = "french_unaccent"

FORWARD = f"""
CREATE EXTENSION IF NOT EXISTS unaccent;
DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG};
CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = french);
ALTER TEXT SEARCH CONFIGURATION {CONFIG}
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
UPDATE articles_article SET search_vector =
    setweight(to_tsvector('{CONFIG}', coalesce(title, '')), 'A')
    || setweight(to_tsvector('{CONFIG}', coalesce(description, '')), 'B')
    || setweight(to_tsvector('{CONFIG}', coalesce(body, '')), 'C');
"""

BACKWARD = f"""
UPDATE articles_article SET search_vector =
    setweight(to_tsvector('french', coalesce(title, '')), 'A')
    || setweight(to_tsvector('french', coalesce(description, '')), 'B')
    || setweight(to_tsvector('french', coalesce(body, '')), 'C');
DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG};
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("articles", "0005_comments_from_readers")]
    operations = [migrations.RunPython(forward, backward)]
