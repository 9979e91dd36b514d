"""SMTP: a mailing through the real pipeline (tick, worker, PostgreSQL, Redis) to Postfix's
smtp-sink, against the same number of prebuilt messages sent with smtplib over the same
number of connections, with the same parallelism (the worker's concurrency), same run.

BENCH_SMTP_RECIPIENTS (default 100000). Also prints the worker tree's peak memory."""

import datetime
import multiprocessing
import os
import re
import smtplib
import threading
import time

import pytest
from django.db.models import Count, Max, Min

from config.tasks import tick
from mailings import rendering, services
from mailings.models import Delivery, Mailing
from tests.helpers import free_port, process_env

from . import mailbench, report

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]
RECIPIENTS = int(os.environ.get("BENCH_SMTP_RECIPIENTS", 100_000))
CONCURRENCY = int(os.environ.get("BENCH_SMTP_CONCURRENCY", 4))  # worker processes (I/O-bound)
BATCH = 1000  # MAIL_BATCH_SIZE: one SMTP connection per batch


def _send_prebuilt(port, messages, connections):
    per_connection = len(messages) // connections
    for c in range(connections):
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for raw in messages[c * per_connection : (c + 1) * per_connection]:
                smtp.sendmail("bonjour@pouls.example", ["lecteur@example.org"], raw)


_ENVELOPE = b"MAIL FROM:<bonjour@pouls.example>\r\nRCPT TO:<lecteur@example.org>\r\nDATA\r\n"


def _send_prebuilt_pipelined(port, messages, connections):
    """ESMTP PIPELINING (RFC 2920) over smtplib's socket: each write carries one
    message's content with the next one's MAIL, RCPT and DATA, one round trip each."""
    per_connection = len(messages) // connections
    for c in range(connections):
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("pipelining")
            pending = b""
            for data in messages[c * per_connection : (c + 1) * per_connection]:
                smtp.send(pending + _ENVELOPE)
                if pending:
                    assert smtp.getreply()[0] == 250
                assert [smtp.getreply()[0] for _ in range(3)] == [250, 250, 354]
                pending = data
            if pending:
                smtp.send(pending)
                assert smtp.getreply()[0] == 250


def _data(sample: bytes) -> bytes:
    """The DATA section of a message, as smtplib makes it: CRLF line ends, dot-stuffed."""
    data = re.sub(rb"(?m)^\.", b"..", re.sub(rb"\r\n|\n|\r", b"\r\n", sample))
    return data + (b"" if data.endswith(b"\r\n") else b"\r\n") + b".\r\n"


def baseline(port, count, sample: bytes, *, pipelined=False) -> float:
    """Prebuilt messages, CONCURRENCY processes, count/BATCH connections in all: smtplib's
    `sendmail`, or pipelined over smtplib's socket (the true limit of the server)."""
    messages = [_data(sample) if pipelined else sample] * (count // CONCURRENCY)
    connections = max(1, count // BATCH // CONCURRENCY)
    ctx = multiprocessing.get_context("fork")
    target = _send_prebuilt_pipelined if pipelined else _send_prebuilt
    workers = [
        ctx.Process(target=target, args=(port, messages, connections)) for _ in range(CONCURRENCY)
    ]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return count / (time.perf_counter() - start)


def test_smtp_pipeline_against_prebuilt_smtplib(postgres, redis_url, tmp_path):
    from config import celery_app

    celery_app.conf.task_always_eager = False
    mailing_list = mailbench.make_readers(RECIPIENTS)
    mailing = Mailing.objects.create(
        subject="Écoutez vos clients « avant » de construire",
        preheader="Trois questions",
        body="Bonjour {prénom},\n\n" + "Un paragraphe de l’article de la semaine. " * 30,
        send_date=datetime.date(2000, 1, 1),
        send_time=datetime.time(9, 0),
    )
    mailing.lists.add(mailing_list)
    port = free_port()
    sink = mailbench.start_sink(port)

    sample = rendering.render_message(mailing).personal_bytes(
        rendering.recipient_values(
            delivery_id=1,
            email="lecteur1@example.org",
            first_name="Prénom1",
            subscription_id=1,
            contact_id=1,
            list_slug="newsletter",
            list_name="Newsletter",
        )
    )
    raw_rate = baseline(port, RECIPIENTS, sample)
    pipelined_rate = baseline(port, RECIPIENTS, sample, pipelined=True)

    env = process_env(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        MAIL_BATCH_SIZE=BATCH,
        MAIL_CHUNK_SIZE=250,
        MAIL_PARALLEL_BATCHES=CONCURRENCY * 2,
    )
    log = (tmp_path / "worker.log").open("w")
    worker = mailbench.start_worker(env, concurrency=CONCURRENCY, log=log)
    peak = 0.0
    stop = threading.Event()

    def beat():  # what celery beat does, every second instead of every 15 s
        while not stop.wait(1.0):
            tick.delay()

    try:
        time.sleep(3)  # worker boot is not part of the figure
        services.mailing_schedule(mailing=mailing)
        threading.Thread(target=beat, daemon=True).start()
        start = time.perf_counter()
        tick.delay()
        polls = 0
        while True:
            if polls % 5 == 0:
                peak = max(peak, mailbench.tree_rss_mb(worker.pid)[0])
            polls += 1
            if Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SENT).exists():
                break
            assert time.perf_counter() - start < 1800, "the mailing did not finish"
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
    finally:
        stop.set()
        mailbench.stop_group(worker)
        log.close()
        sink.terminate()
        sink.wait()
    statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
    assert statuses == {"sent": RECIPIENTS}
    rate = RECIPIENTS / elapsed
    window = Delivery.objects.aggregate(first=Min("sent_at"), last=Max("sent_at"))
    sending = (window["last"] - window["first"]).total_seconds()
    print(
        f"\n[bench smtp] {RECIPIENTS} recipients through tick+worker({CONCURRENCY})+PostgreSQL+Redis "
        f"to smtp-sink: {rate:,.0f} msg/s ({elapsed:.1f} s, dispatch included)\n"
        f"[bench smtp] baseline: prebuilt messages, smtplib, {CONCURRENCY} processes, "
        f"{max(1, RECIPIENTS // BATCH)} connections: {raw_rate:,.0f} msg/s\n"
        f"[bench smtp] baseline: the same, pipelined: {pipelined_rate:,.0f} msg/s\n"
        f"[bench smtp] ratio: {rate / raw_rate:.0%} of smtplib's rate (target ≥ 70%), "
        f"{rate / pipelined_rate:.0%} of the pipelined rate (the true limit)\n"
        f"[bench smtp] of which first to last message sent: {sending:.1f} s "
        f"({RECIPIENTS / max(sending, 0.001):,.0f} msg/s while sending)\n"
        f"[bench smtp] worker tree peak RSS: {peak:.0f} MB"
    )
    size = f"{RECIPIENTS:,} recipients, concurrency {CONCURRENCY}"
    report.record(
        "smtp", f"SMTP, {size}", rate, "msg/s", raw_rate, "smtplib, prebuilt", ">= 0.7 x baseline"
    )
    report.record(
        "smtp.pipelined",
        f"SMTP against the pipelined limit, {size}",
        rate,
        "msg/s",
        pipelined_rate,
        "prebuilt, pipelined",
    )
    report.record("smtp.peak_rss", f"SMTP: worker tree peak RSS (summed), {size}", peak, "MB")
