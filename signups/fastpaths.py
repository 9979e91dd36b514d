"""The signups' fast paths (see config/fastpaths.py).

`SharedFields` relies on `django.forms.Form.__init__` of Django 5.2 deep-copying
`base_fields` for each instance: the signup form's fields are shared instead,
as no code changes a field after the form is built (the one per-list field, the
consent checkbox, comes ready-made). The deep copy (the time zone choices, the
widgets) cost about a tenth of the web process's CPU per signup, measured in
process. Off, Django's deep copy.

`signup_cursor()` mirrors `BaseDatabaseWrapper._prepare_cursor` and
`BaseDatabaseWrapper.cursor` of Django 5.2 (`close_if_health_check_failed`,
`ensure_connection`, `wrap_database_errors`), to hand a psycopg cursor that
binds server-side to Django's cursor wrapper (error translation, query log,
execute wrappers): PostgreSQL then parses and plans the signup's statement once
per connection, not per signup, which halves the database's CPU for it. Django's
own cursors bind client-side and never prepare.

With `POULS_FASTPATHS` off it is `connection.cursor()`. With the connection's
`prepare_threshold` at None (DJANGO_DB_PREPARED_STATEMENTS=false, for
transaction-mode poolers) psycopg ignores the request and simply executes.
"""

import copy

import psycopg
from django.db import connection

from config import fastpaths


def signup_cursor():
    """A cursor for `signups.services._SIGNUP_SQL` (PostgreSQL only)."""
    if not fastpaths.enabled():
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_PreparedCursor(connection.connection))


class _PreparedCursor(psycopg.Cursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class SharedFields(dict):
    """A form's `base_fields`, shared by every instance while the fast paths run."""

    def __deepcopy__(self, memo):
        if not fastpaths.enabled():
            return copy.deepcopy(dict(self), memo)
        return dict(self)


def consent_field(field):
    """The list's ready-made consent field: shared, or Django's per-form copy."""
    return field if fastpaths.enabled() else copy.deepcopy(field)
