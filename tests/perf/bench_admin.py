"""Admin pages at 200,000 readers on PostgreSQL: the server time (median of 5 requests,
in-process through Django's test client) and the SQL queries of each page; the memory
of the streamed CSV exports (resident memory growth while streaming). Baselines in the same run: Django’s bare password change page
(an admin page that reads nothing) and, for the exports, the size of the file (what building it
in memory would hold at the least).

BENCH_ADMIN_CONTACTS (default 200000)."""

import os
import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from signups.models import Contact, MailingList

from . import adminbench, report

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]
CONTACTS = int(os.environ.get("BENCH_ADMIN_CONTACTS", 200_000))
TARGET_MS = 300


def _measure(client, url: str) -> tuple[float, int, int]:
    timings, queries = [], 0
    for _ in range(6):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, url
        queries = len(captured)
    return statistics.median(timings[1:]), queries, response.status_code


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _export(client, url: str) -> tuple[float, float, int]:
    """Seconds, growth of the process's resident memory while streaming, bytes."""
    start_rss, peak, size = _rss_mb(), 0.0, 0
    start = time.perf_counter()
    response = client.get(url)
    for index, chunk in enumerate(response.streaming_content):
        size += len(chunk)
        if index % 5000 == 0:
            peak = max(peak, _rss_mb() - start_rss)
    return time.perf_counter() - start, max(peak, _rss_mb() - start_rss), size


def test_admin_pages_at_200k(postgres, admin_client):
    start = time.perf_counter()
    mailing = adminbench.fill(CONTACTS)
    setup = time.perf_counter() - start
    contact = Contact.objects.order_by("pk")[CONTACTS // 2]
    newsletter = MailingList.objects.get(slug="newsletter")
    pages = {
        "baseline: password change": "/admin/password_change/",
        "dashboard (admin index)": "/admin/",
        "contacts list": "/admin/signups/contact/",
        "contacts of one list": f"/admin/signups/contact/?liste={newsletter.pk}",
        "contact search": "/admin/signups/contact/?q=lecteur1234",
        "a contact's page": f"/admin/signups/contact/{contact.pk}/change/",
        "mailings list": "/admin/mailings/mailing/",
        "the mailing's page": f"/admin/mailings/mailing/{mailing.pk}/change/",
        "deliveries of the mailing": f"/admin/mailings/delivery/?mailing__id__exact={mailing.pk}",
        "unknown deliveries of it": (
            f"/admin/mailings/delivery/?mailing__id__exact={mailing.pk}&status__exact=unknown"
        ),
        "audience page": "/admin/signups/contact/audience/",
    }
    print(f"\n[bench admin] {CONTACTS:,} contacts, data written in {setup:.1f} s")
    timings = {}
    for name, url in pages.items():
        ms, queries, _status = _measure(admin_client, url)
        timings[name] = ms
        verdict = "" if name.startswith("baseline") else (" ok" if ms < TARGET_MS else " SLOW")
        print(f"[bench admin] {name:<28} {ms:7.1f} ms  {queries:3d} queries{verdict}")
    baseline_ms = timings.pop("baseline: password change")
    slowest = max(timings, key=timings.get)
    report.record(
        "admin.slowest",
        f"admin at {CONTACTS:,} contacts, slowest page ({slowest})",
        timings[slowest],
        "ms",
        baseline_ms,
        "password change page",
        f"< {TARGET_MS}",
    )
    for name, url in {
        "list export (CSV)": f"/admin/signups/mailinglist/{newsletter.pk}/export.csv",
        "deliveries export (CSV)": f"/admin/mailings/mailing/{mailing.pk}/envois.csv",
    }.items():
        seconds, growth, size = _export(admin_client, url)
        print(
            f"[bench admin] {name:<28} {seconds:5.1f} s, resident memory +{growth:5.1f} MB"
            f" for a {size / 1e6:.1f} MB file (baseline: held whole, at least the file's size)"
        )
        report.record(
            f"admin.{name}",
            f"admin {name}, resident memory growth, {CONTACTS:,} contacts",
            growth,
            "MB",
            size / 1e6,
            "the file's size (held whole)",
        )
