"""CSV export of a list's subscribers, streamed."""

import csv

from config import heartbeat

from .models import MailingList
from .rights import _iso


def _csv_safe(value) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: neutralise them."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    """csv.writer's file: each row comes back as the string written."""

    def write(self, value):
        return value


def mailing_list_csv(*, mailing_list: MailingList):
    """The list's subscribers as CSV lines, streamed: rows are read from a server-side
    cursor in chunks and never held all at once (a million rows keep memory flat)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(
        ["email", "prénom", "profil", "statut", "inscrit·e le", "confirmé·e le"]
    )
    rows = (
        mailing_list.subscriptions.filter(contact__erased_at__isnull=True)
        .order_by("pk")
        .values_list(
            "contact__email",
            "contact__first_name",
            "contact__profile",
            "status",
            "created_at",
            "confirmed_at",
        )
    )
    for email, first_name, profile, status, created_at, confirmed_at in heartbeat.rows(
        rows.iterator(chunk_size=5000)
    ):
        yield writer.writerow(
            [
                _csv_safe(email),
                _csv_safe(first_name),
                profile,
                status,
                _iso(created_at),
                _iso(confirmed_at),
            ]
        )
