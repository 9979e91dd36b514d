"""The sending journey at 200,000 contacts on PostgreSQL: the live audience count, the
sending screen, the confirmation page and a sent mailing's page (200,000 deliveries,
about 280,000 events). Median of 5 requests, server side (Django's test client), with
the number of SQL queries.

Baselines, same run: for the count, one bare `SELECT count(*)` of the list's active
subscriptions (the least any exact count can cost); for the mailing page, the audience
count the page used to recompute on every view, even after sending.
BENCH_STUDIO_CONTACTS (default 200000)."""

import datetime as dt
import os
import statistics
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mailings.models import Mailing, audience_contacts
from signups.models import Contact, MailingList, Profile

from . import report

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]
CONTACTS = int(os.environ.get("BENCH_STUDIO_CONTACTS", 200_000))
PROFILES = [value for value, _label in Profile.choices]


def fill() -> tuple[list[MailingList], Mailing]:
    lists = [
        MailingList.objects.create(slug=slug, name=name, consent_text="J’accepte.")
        for slug, name in (
            ("newsletter", "Newsletter"),
            ("atelier", "Atelier"),
            ("entretiens", "Entretiens"),
        )
    ]
    start = timezone.now() - dt.timedelta(days=730)
    for low in range(0, CONTACTS, 10_000):
        Contact.objects.bulk_create(
            Contact(
                email=f"lecteur{i}@example.org",
                first_name=f"P{i}",
                profile=PROFILES[i % len(PROFILES)],
                source="bench",
                created_at=start + dt.timedelta(minutes=5 * i),
            )
            for i in range(low, min(low + 10_000, CONTACTS))
        )
    newsletter, atelier, entretiens = (mailing_list.pk for mailing_list in lists)
    with connection.cursor() as cursor:
        # Everyone on the newsletter, one in two on the workshop, one in five on the interviews.
        cursor.execute(
            "INSERT INTO signups_subscription (contact_id, mailing_list_id, status, created_at,"
            " confirmed_at) SELECT id, l.list, 'active', created_at, created_at"
            " FROM signups_contact c, (VALUES (%s, 1), (%s, 2), (%s, 5)) AS l(list, every)"
            " WHERE c.id %% l.every = 0",
            [newsletter, atelier, entretiens],
        )
        cursor.execute(
            "INSERT INTO signups_answer (contact_id, mailing_list_id, text, profile, created_at)"
            " SELECT id, %s, CASE WHEN id %% 3 = 0 THEN 'Fixer mes prix' ELSE 'Trouver des"
            " clients' END, profile, created_at FROM signups_contact WHERE id %% 10 = 0",
            [newsletter],
        )
    mailing = Mailing.objects.create(
        subject="Écoutez avant de construire",
        body="Bonjour !\n\n[L’atelier](/atelier/)",
        status=Mailing.Status.SENT,
        send_date=dt.date(2026, 1, 5),
        send_time=dt.time(9),
        dispatched_at=timezone.now() - dt.timedelta(days=2),
        finished_at=timezone.now() - dt.timedelta(days=2),
    )
    mailing.lists.set([lists[0]])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mailings_delivery (mailing_id, contact_id, subscription_id, status,"
            " sent_at) SELECT %s, contact_id, id, 'sent', now() - interval '2 days'"
            " FROM signups_subscription WHERE mailing_list_id = %s",
            [mailing.pk, newsletter],
        )
        # Delivered for all, opened by two in five, clicked by one in twenty-five.
        cursor.execute(
            "INSERT INTO mailings_event (event_id, kind, delivery_id, mailing_id, occurred_at,"
            " detail) SELECT k.kind || '-' || d.id, k.kind, d.id, d.mailing_id,"
            " d.sent_at + (d.id %% 48) * interval '1 hour', '' FROM mailings_delivery d,"
            " (VALUES ('delivered', 1), ('opened', 5), ('opened', 5), ('clicked', 25)) AS k(kind, every)"
            " WHERE d.id %% k.every = 0 AND d.mailing_id = %s ON CONFLICT DO NOTHING",
            [mailing.pk],
        )
        cursor.execute("ANALYZE")
    return lists, mailing


def measure(client: Client, url: str, runs: int = 5) -> tuple[float, int, int]:
    """Median milliseconds, SQL queries of the last run, status."""
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), len(queries), response.status_code


def test_live_count_and_pages_at_200000_contacts(postgres, settings):
    settings.DEBUG = False
    started = time.perf_counter()
    lists, sent = fill()
    setup = time.perf_counter() - started
    draft = Mailing.objects.create(subject="Brouillon", body="Bonjour !")
    draft.lists.set(lists[:2])
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", "x")
    client = Client()
    client.force_login(user)
    newsletter, atelier, entretiens = (mailing_list.pk for mailing_list in lists)
    base = "/admin/mailings/mailing/audience/?"
    counts = {
        "one list": f"lists={newsletter}",
        "three lists": f"lists={newsletter}&lists={atelier}&lists={entretiens}",
        "two lists, two profiles": f"lists={newsletter}&lists={atelier}&profiles=hr&profiles=it",
        "one list, signed up in 2025": (
            f"lists={newsletter}&signed_up_after=2025-01-01&signed_up_before=2026-01-01"
        ),
        "one list, answer contains « prix »": f"lists={newsletter}&answer_contains=prix",
    }
    lines = [f"\n[bench studio] {CONTACTS:,} contacts, 3 lists (set up in {setup:.0f} s)"]
    live = {}
    for label, query in counts.items():
        ms, queries, status = measure(client, base + query)
        live[label] = ms
        answer = client.get(base + query).json()
        assert status == 200
        kind = "exact" if answer["exact"] else "estimate"
        lines.append(
            f"[bench studio] live count, {label}: {ms:.0f} ms, {queries} queries,"
            f" {answer['count']:,} ({kind}); target < 200 ms: {'met' if ms < 200 else 'NOT met'}"
        )
    with connection.cursor() as cursor:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            cursor.execute(
                "SELECT count(*) FROM signups_subscription WHERE mailing_list_id = %s"
                " AND status = 'active'",
                [newsletter],
            )
            cursor.fetchone()
            times.append((time.perf_counter() - start) * 1000)
    lines.append(
        f"[bench studio] baseline: bare count of one list: {statistics.median(times):.0f} ms"
    )
    bare_count = statistics.median(times)
    for label, filters in (
        ("one list", {"list_ids": [newsletter]}),
        ("three lists", {"list_ids": [newsletter, atelier, entretiens]}),
        (
            "one list, answer contains « prix »",
            {"list_ids": [newsletter], "answer_contains": "prix"},
        ),
    ):
        contacts = audience_contacts(**filters)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            exact = contacts.count()
            times.append((time.perf_counter() - start) * 1000)
        lines.append(
            f"[bench studio] exact count without a budget, {label}: "
            f"{statistics.median(times):.0f} ms ({exact:,})"
        )

    screens = {}
    for label, url in (
        ("sending screen (draft, two lists)", f"/admin/mailings/mailing/{draft.pk}/envoyer/"),
        ("confirmation with checks", f"/admin/mailings/mailing/{draft.pk}/programmer/"),
        ("sent mailing's page", f"/admin/mailings/mailing/{sent.pk}/change/"),
    ):
        ms, queries, status = measure(client, url)
        assert status == 200, (url, status)
        lines.append(f"[bench studio] {label}: {ms:.0f} ms, {queries} queries")
        screens[label] = ms
    times = []
    for _ in range(5):
        start = time.perf_counter()
        sent.audience_count()
        times.append((time.perf_counter() - start) * 1000)
    lines.append(
        f"[bench studio] baseline: the audience count the mailing page recomputed on every view"
        f" before (no longer after dispatch): {statistics.median(times):.0f} ms"
    )
    print("\n".join(lines))
    report.record(
        "studio.live_count",
        f"live audience count at {CONTACTS:,} contacts, the slowest of {len(live)} filters",
        max(live.values()),
        "ms",
        bare_count,
        "bare count(*) of one list",
        "< 200",
    )
    for label, ms in screens.items():
        report.record(f"studio.{label}", f"{label}, {CONTACTS:,} contacts", ms, "ms")
