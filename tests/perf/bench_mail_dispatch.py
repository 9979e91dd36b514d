"""Dispatch: write the delivery rows of a 1,000,000-contact mailing on PostgreSQL.

Ours: `mailing_dispatch` (audience query with dedup across lists, contact-id ranges,
INSERT … SELECT … ON CONFLICT DO NOTHING, one transaction). Baseline, same run: one bare
INSERT … SELECT of the same rows into a copy of the table with the same indexes.
BENCH_DISPATCH_CONTACTS (default 1000000)."""

import datetime
import os
import time

import pytest
from django.db import connection

from mailings import services
from mailings.models import Delivery, Mailing

from . import mailbench, report

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]
CONTACTS = int(os.environ.get("BENCH_DISPATCH_CONTACTS", 1_000_000))


def test_dispatch_of_a_million_contacts(postgres, monkeypatch):
    monkeypatch.setattr(services, "outbox_wake", lambda *args: None)  # no workers here
    start = time.perf_counter()
    mailing_list = mailbench.make_readers(CONTACTS)
    setup = time.perf_counter() - start
    mailing = Mailing.objects.create(
        subject="Un million",
        body="Bonjour",
        send_date=datetime.date(2000, 1, 1),
        send_time=datetime.time(9),
    )
    mailing.lists.add(mailing_list)
    services.mailing_schedule(mailing=mailing)

    start = time.perf_counter()
    written = services.mailing_dispatch(mailing_id=mailing.pk)
    ours = time.perf_counter() - start
    assert written == CONTACTS == Delivery.objects.filter(mailing=mailing).count()

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_delivery (LIKE mailings_delivery INCLUDING ALL)")
        start = time.perf_counter()
        cursor.execute(
            "INSERT INTO bench_delivery (mailing_id, contact_id, subscription_id, created_at)"
            " SELECT %s, contact_id, id, now() FROM signups_subscription WHERE mailing_list_id = %s",
            [mailing.pk, mailing_list.pk],
        )
        baseline = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_delivery")

    print(
        f"\n[bench dispatch] {CONTACTS:,} contacts (created in {setup:.1f} s): delivery rows written "
        f"in {ours:.1f} s ({CONTACTS / ours:,.0f} rows/s); target < 20 s: {'met' if ours < 20 else 'NOT met'}\n"
        f"[bench dispatch] baseline: one bare INSERT … SELECT into a copy with the same indexes: {baseline:.1f} s\n"
        f"[bench dispatch] ratio: {ours / baseline:.2f}× the bare insert's time"
    )
    report.record(
        "dispatch",
        f"dispatch, {CONTACTS:,} delivery rows",
        ours,
        "s",
        baseline,
        "one bare INSERT … SELECT",
        "< 20",
    )
