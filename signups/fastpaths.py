"""The signups' fast paths (see config/fastpaths.py).

`smtp_envelope_and_bytes()` mirrors what `EmailBackend._send`
(django.core.mail.backends.smtp, Django 5.2) hands to smtplib: the sender through
`sanitize_address` and the message's bytes with CRLF line ends. signups.sending
serialises a confirmation once per run that way and fills in each reader's address,
Message-ID, date and links in the bytes. With `POULS_FASTPATHS` off every email goes
through the backend's `send_messages`.

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

import psycopg
from django.conf import settings
from django.core.mail.message import sanitize_address
from django.db import connection

from config import fastpaths


def smtp_envelope_and_bytes(message) -> tuple[str, bytes]:
    """The envelope sender and the bytes Django's SMTP backend would send for `message`."""
    encoding = message.encoding or settings.DEFAULT_CHARSET
    return sanitize_address(message.from_email, encoding), message.message().as_bytes(
        linesep="\r\n"
    )


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
