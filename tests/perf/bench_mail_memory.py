"""Peak memory of a worker (the whole process tree: main process and pool children) during
a 1,000,000-recipient mailing through the SMTP pipeline to smtp-sink. Baseline, same run:
the same worker tree idle, just started.

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
        time.sleep(4)
        idle, idle_one = mailbench.tree_rss_mb(worker.pid)
        idle_pss = mailbench.tree_pss_mb(worker.pid)
        services.mailing_schedule(mailing=mailing)
        threading.Thread(target=beat, daemon=True).start()
        start, peak, peak_one, peak_pss = time.perf_counter(), idle, idle_one, idle_pss
        while not Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SENT).exists():
            tree, one = mailbench.tree_rss_mb(worker.pid)
            peak, peak_one = max(peak, tree), max(peak_one, one)
            peak_pss = max(peak_pss, mailbench.tree_pss_mb(worker.pid))
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
        f"\n[bench memory] {RECIPIENTS:,}-recipient mailing, worker tree (concurrency {CONCURRENCY}) peak RSS over "
        f"{scope}, {elapsed:.0f} s: {peak:.0f} MB (largest process {peak_one:.0f} MB); "
        f"target < 300 MB: {'met' if peak < 300 else 'NOT met'}\n"
        f"[bench memory] baseline: the same worker tree idle: {idle:.0f} MB (largest process {idle_one:.0f} MB)\n"
        f"[bench memory] ratio: {peak / idle:.2f}× idle\n"
        f"[bench memory] proportional (PSS, pages shared by the forked children counted once): "
        f"peak {peak_pss:.0f} MB, idle {idle_pss:.0f} MB"
    )
    size = f"{RECIPIENTS:,} recipients ({scope}), concurrency {CONCURRENCY}"
    idle_label = "the same tree idle"
    report.record(
        "memory.rss", f"worker tree peak, summed RSS: {size}", peak, "MB", idle, idle_label, "< 300"
    )
    report.record(
        "memory.pss",
        f"worker tree peak, PSS: {size}",
        peak_pss,
        "MB",
        idle_pss,
        idle_label,
        "< 300",
    )
    report.record(
        "memory.largest",
        f"largest worker process, peak RSS: {size}",
        peak_one,
        "MB",
        idle_one,
        idle_label,
    )
