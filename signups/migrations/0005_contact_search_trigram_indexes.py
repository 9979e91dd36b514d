"""Trigram indexes for the admin's contact search (PostgreSQL only).

The search asks `UPPER(email) LIKE UPPER('%…%')`: no B-tree serves a pattern that
starts with a wildcard, and each search read the whole table. pg_trgm's GIN indexes on
the same expressions do. On SQLite (the embedded setup) nothing is created."""

from django.db import migrations

INDEXES = (
    ("contact_email_trgm", "email"),
    ("contact_first_name_trgm", "first_name"),
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON signups_contact"
            f" USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("signups", "0004_pending_signup")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
