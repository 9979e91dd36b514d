"""Peak memory of a worker (the whole process tree: main process and pool children) during
a 1,000,000-recipient mailing through the SMTP pipeline to smtp-sink, at the concurrency of
the throughput figure. Baseline, same run: the same worker tree idle, just started.

Three measures, idle and at their peak, each against the < 300 MB target: the summed RSS
(each page the forked children share with the main process counted once per process, an
overestimate of the tree's cost), the PSS (each shared page split among its sharers: what
the tree costs the machine), and the largest single process's RSS. Then the PSS peak of
each half of the run: memory that grew with the number of recipients would show in the
second.

BENCH_MEMORY_RECIPIENTS (default 1000000); BENCH_MEMORY_MAX_SECONDS (default 0: until the
mailing is sent; otherwise sampling stops there, the mailing is cancelled and the output
says how far it went)."""

import datetime
import os
import threading
import time

import pytest

from config.tasks import tick
from mailings import services
from mailings.models import Delivery, Mailing
from tests.helpers import free_port, process_env

from . import mailbench, report

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]
RECIPIENTS = int(os.environ.get("BENCH_MEMORY_RECIPIENTS", 1_000_000))
MAX_SECONDS = float(os.environ.get("BENCH_MEMORY_MAX_SECONDS", 0))
# The concurrency of the throughput figure (bench_mail_smtp.py): memory where speed is.
CONCURRENCY = int(os.environ.get("BENCH_SMTP_CONCURRENCY", 4))
TARGET_MB = 300


def test_worker_peak_memory_during_a_large_mailing(postgres, redis_url, tmp_path):
    from config import celery_app

    celery_app.conf.task_always_eager = False
    mailing_list = mailbench.make_readers(RECIPIENTS)
    mailing = Mailing.objects.create(
        subject="Écoutez vos clients « avant » de construire",
        body="Bonjour {prénom},\n\n" + "Un paragraphe de l’article de la semaine. " * 30,
        send_date=datetime.date(2000, 1, 1),
        send_time=datetime.time(9, 0),
    )
    mailing.lists.add(mailing_list)
    port = free_port()
    sink = mailbench.start_sink(port)
    env = process_env(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
    )
    log = (tmp_path / "worker.log").open("w")
    worker = mailbench.start_worker(env, concurrency=CONCURRENCY, log=log)
    stop = threading.Event()

    def beat():
        while not stop.wait(1.0):
            tick.delay()

    try:
        idle = _idle(worker.pid)
        services.mailing_schedule(mailing=mailing)
        threading.Thread(target=beat, daemon=True).start()
        start, peak, samples = time.perf_counter(), idle, []
        while not Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SENT).exists():
            reading = mailbench.tree_memory(worker.pid)
            peak = peak.max(reading)
            samples.append((time.perf_counter() - start, reading.pss))
            if MAX_SECONDS and time.perf_counter() - start > MAX_SECONDS:
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - start
        sent = Delivery.objects.filter(status=Delivery.Status.SENT).count()
        if sent < RECIPIENTS:
            services.mailing_cancel(mailing=mailing)
    finally:
        stop.set()
        mailbench.stop_group(worker)
        log.close()
        sink.terminate()
        sink.wait()
    scope = (
        "the whole mailing"
        if sent == RECIPIENTS
        else f"the first {sent:,} sends (capped at {MAX_SECONDS:.0f} s)"
    )
    print(
        f"\n[bench memory] {RECIPIENTS:,}-recipient mailing over SMTP, worker tree at concurrency "
        f"{CONCURRENCY} ({peak.processes} processes), peaks over {scope}, {elapsed:.0f} s; "
        f"baseline: the same tree idle, just started ({idle.processes} processes)"
    )
    rows = (
        ("summed RSS (shared pages counted once per process)", idle.rss, peak.rss),
        ("PSS (shared pages split: what the tree costs)", idle.pss, peak.pss),
        ("largest single process (RSS)", idle.largest_rss, peak.largest_rss),
    )
    for label, at_rest, highest in rows:
        print(
            f"[bench memory] {label}: peak {highest:.0f} MB, idle {at_rest:.0f} MB "
            f"({highest / at_rest:.2f}×); < {TARGET_MB} MB: {_verdict(at_rest, highest)}"
        )
    halves = [
        max((pss for at, pss in samples if (at < elapsed / 2) == first), default=0)
        for first in (True, False)
    ]
    print(
        f"[bench memory] growth with the mailing's size: peak PSS {halves[0]:.0f} MB over the "
        f"first half of the run, {halves[1]:.0f} MB over the second"
    )
    print(f"[bench memory] {_summary(peak)}")
    size = f"{RECIPIENTS:,} recipients ({scope}), concurrency {CONCURRENCY}"
    for key, label, at_rest, highest in (
        ("memory.rss", "worker tree peak, summed RSS", idle.rss, peak.rss),
        ("memory.pss", "worker tree peak, PSS", idle.pss, peak.pss),
        ("memory.largest", "largest worker process, peak RSS", idle.largest_rss, peak.largest_rss),
    ):
        report.record(
            key, f"{label}: {size}", highest, "MB", at_rest, "the same tree idle", f"< {TARGET_MB}"
        )


def _idle(pid: int):
    """The tree once every pool child has started (a loaded machine starts them slowly),
    after a short settling."""
    deadline = time.monotonic() + 120
    while mailbench.tree_memory(pid).processes < CONCURRENCY + 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(4)
    return mailbench.tree_memory(pid)


def _verdict(idle: float, peak: float) -> str:
    if peak < TARGET_MB:
        return "met"
    return "NOT met, already idle" if idle >= TARGET_MB else "NOT met"


def _summary(peak) -> str:
    if peak.rss < TARGET_MB:
        return f"target < {TARGET_MB} MB met in every measure, summed RSS included"
    if peak.pss < TARGET_MB:
        return (
            f"target < {TARGET_MB} MB met only in PSS (what the tree costs the machine), "
            f"NOT in summed RSS ({peak.rss:.0f} MB)"
        )
    return f"target < {TARGET_MB} MB NOT met, not even in PSS ({peak.pss:.0f} MB)"
