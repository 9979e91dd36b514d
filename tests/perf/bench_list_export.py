"""A list's CSV export at 1,000,000 subscribers on PostgreSQL, through the admin's URL
(StreamingHttpResponse over a server-side cursor): rows per second, total time, time to
the first bytes, and memory (the process's resident memory growth, sampled while
streaming, and Python's own peak allocations by tracemalloc), beside PostgreSQL's own
`COPY (SELECT the same columns) TO STDOUT` of the same rows read by the same process,
in the same run.

BENCH_EXPORT_ROWS (default 1000000). The rows are written by PostgreSQL itself
(generate_series), in seconds."""

import os
import time
import tracemalloc

import pytest
from django.db import connection

from signups.models import MailingList

from . import report

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]
ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", 1_000_000))
MEMORY_LIMIT_MB = 60  # the CSV itself is ~80 MB at a million rows


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def fill(rows: int) -> MailingList:
    mailing_list = MailingList.objects.create(
        slug="newsletter", name="Newsletter", consent_text="J’accepte."
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO signups_contact (email, first_name, profile, time_zone, language, source,"
            " created_at, last_activity_at, suppression_reason)"
            " SELECT 'lecteur' || g || '@example.org', 'Prénom' || g,"
            " (ARRAY['entrepreneur','freelancer','it',''])[1 + g %% 4], 'Europe/Paris', 'fr',"
            " 'newsletter', now() - (g %% 730) * interval '1 day', NULL, ''"
            " FROM generate_series(1, %s) AS g",
            [rows],
        )
        cursor.execute(
            "INSERT INTO signups_subscription (contact_id, mailing_list_id, status, created_at,"
            " confirmed_at, unsubscribed_at)"
            " SELECT id, %s, CASE WHEN id %% 20 = 0 THEN 'unsubscribed' ELSE 'active' END,"
            " created_at, created_at, CASE WHEN id %% 20 = 0 THEN now() END FROM signups_contact",
            [mailing_list.pk],
        )
        cursor.execute("ANALYZE signups_contact")
        cursor.execute("ANALYZE signups_subscription")
    return mailing_list


def copy_baseline(mailing_list) -> tuple[float, int, int, float]:
    """PostgreSQL's COPY of the same columns and rows: seconds, rows, bytes, RSS growth."""
    sql = (
        "COPY (SELECT c.email, c.first_name, c.profile, s.status, s.created_at,"
        " s.confirmed_at FROM signups_subscription s JOIN signups_contact c"
        " ON c.id = s.contact_id WHERE s.mailing_list_id = %s"
        " AND c.erased_at IS NULL ORDER BY s.id) TO STDOUT WITH (FORMAT csv, HEADER)"
    )
    start_rss, peak, size, lines = _rss_mb(), 0.0, 0, 0
    start = time.perf_counter()
    with connection.cursor() as cursor, cursor.cursor.copy(sql, [mailing_list.pk]) as copy:
        for index, chunk in enumerate(copy):
            size += len(chunk)
            lines += bytes(chunk).count(b"\n")
            if index % 5000 == 0:
                peak = max(peak, _rss_mb() - start_rss)
    elapsed = time.perf_counter() - start
    return elapsed, lines - 1, size, max(peak, _rss_mb() - start_rss)


def export(client, mailing_list, *, trace: bool) -> tuple[float, float, int, int, float, float]:
    """Through the admin: seconds, seconds to the first bytes, rows, bytes, RSS growth (MB),
    tracemalloc's peak (MB, when traced)."""
    url = f"/admin/signups/mailinglist/{mailing_list.pk}/export.csv"
    if trace:
        tracemalloc.start()
    start_rss, peak, size, lines, first = _rss_mb(), 0.0, 0, 0, None
    start = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200 and response.streaming
    for index, chunk in enumerate(response.streaming_content):
        if first is None:
            first = time.perf_counter() - start
        size += len(chunk)
        lines += chunk.count(b"\n")
        if index % 20000 == 0:
            peak = max(peak, _rss_mb() - start_rss)
    elapsed = time.perf_counter() - start
    traced = 0.0
    if trace:
        traced = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return elapsed, first, lines - 1, size, max(peak, _rss_mb() - start_rss), traced


def test_list_export_of_a_million_rows_streams_in_flat_memory(postgres, admin_client):
    start = time.perf_counter()
    mailing_list = fill(ROWS)
    setup = time.perf_counter() - start

    copy_s, copy_rows, copy_bytes, copy_rss = copy_baseline(mailing_list)
    seconds, first, rows, size, rss, _ = export(admin_client, mailing_list, trace=False)
    # Python's own allocations, in a second pass (tracemalloc slows it down: not timed).
    *_, traced = export(admin_client, mailing_list, trace=True)

    print(f"\nlist export, {ROWS:,} subscribers (filled by generate_series in {setup:.1f} s)")
    print(
        f"  baseline COPY ... TO STDOUT: {copy_rows:,} rows in {copy_s:.1f} s "
        f"({copy_rows / copy_s:,.0f} rows/s), {copy_bytes / 1e6:.1f} MB, "
        f"RSS growth {copy_rss:.1f} MB"
    )
    print(
        f"  admin export (streamed):     {rows:,} rows in {seconds:.1f} s "
        f"({rows / seconds:,.0f} rows/s, {seconds / copy_s:.1f}× COPY's time), "
        f"{size / 1e6:.1f} MB, first bytes after {first * 1000:.0f} ms, "
        f"RSS growth {rss:.1f} MB, tracemalloc peak {traced:.1f} MB"
    )
    assert rows == copy_rows == ROWS
    assert rss < MEMORY_LIMIT_MB and traced < MEMORY_LIMIT_MB
    assert first < 5  # the first bytes leave at once: no proxy or worker timeout waits
    size = f"{ROWS:,} rows"
    copy_rate = copy_rows / copy_s
    report.record(
        "export.rate",
        f"list export (CSV), {size}",
        rows / seconds,
        "rows/s",
        copy_rate,
        "COPY … TO STDOUT",
    )
    report.record(
        "export.rss",
        f"list export, resident memory growth, {size}",
        rss,
        "MB",
        copy_rss,
        "COPY … TO STDOUT",
        f"< {MEMORY_LIMIT_MB}",
    )
    report.record(
        "export.traced",
        f"list export, tracemalloc peak, {size}",
        traced,
        "MB",
        None,
        None,
        f"< {MEMORY_LIMIT_MB}",
    )
