"""ESP hand-over through the real pipeline: Celery workers on Redis claim, render, hand
over and record on PostgreSQL, with anymail's Mailgun or SendGrid backend in batch mode
(one API call per 1,000 recipients, personalised by merge data and per-recipient
headers) pointed at a local HTTP endpoint standing in for the ESP's API (its own
process, a thread per connection, answering at once as a real API does).

Timed: from the end of dispatch (its figure is bench_mail_dispatch's) until the mailing
is sent. Baseline, same run: as many POSTs of one of our real request bodies, prebuilt,
from as many processes as the worker has, each with one requests session.

BENCH_ESP_RECIPIENTS (default 100000), BENCH_ESP_CONCURRENCY (worker processes, default 4, as the SMTP benchmark: the hand-over waits on the network)."""

import datetime
import json
import multiprocessing
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django.db.models import Count

from mailings import services
from mailings.models import Delivery, Mailing
from tests.helpers import free_port, process_env

from . import mailbench, report

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]
RECIPIENTS = int(os.environ.get("BENCH_ESP_RECIPIENTS", 100_000))
CONCURRENCY = int(os.environ.get("BENCH_ESP_CONCURRENCY", 4))
CHUNK = 1000  # Mailgun's and SendGrid's batch limit


class Endpoint(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API
    disable_nagle_algorithm = True  # the answer leaves at once, as from a real API
    wbufsize = -1  # status line, headers and body in one write
    sample: Path  # the first request is kept here: the baseline replays it

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if not self.sample.exists():  # each connection's thread writes its own file
            draft = self.sample.with_suffix(f".{threading.get_ident()}.tmp")
            draft.write_text(
                json.dumps(
                    {
                        "path": self.path,
                        "headers": {
                            name: self.headers[name] for name in ("Content-Type", "Authorization")
                        },
                        "body": body.decode(),
                    }
                )
            )
            draft.replace(self.sample)
        answer = json.dumps(
            {"id": "<bench@mg.pouls.example>", "message": "Queued. Thank you."}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        self.wfile.flush()

    def log_message(self, *args):
        pass


def serve(port, sample):
    Endpoint.sample = sample
    ThreadingHTTPServer(("127.0.0.1", port), Endpoint).serve_forever()


def _post_prebuilt(url, headers, body, count):
    with requests.Session() as session:
        for _ in range(count):
            session.post(url, data=body, headers=headers).raise_for_status()


def baseline(port, sample: Path, calls: int) -> float:
    """`calls` POSTs of the sample request, from CONCURRENCY processes."""
    request = json.loads(sample.read_text())
    url = f"http://127.0.0.1:{port}{request['path']}"
    body = request["body"].encode()
    ctx = multiprocessing.get_context("fork")
    posters = [
        ctx.Process(
            target=_post_prebuilt,
            args=(url, request["headers"], body, calls // CONCURRENCY),
        )
        for _ in range(CONCURRENCY)
    ]
    start = time.perf_counter()
    for poster in posters:
        poster.start()
    for poster in posters:
        poster.join()
        assert poster.exitcode == 0
    return calls // CONCURRENCY * CONCURRENCY * CHUNK / (time.perf_counter() - start)


ESPS = {
    "mailgun": ("anymail.backends.mailgun.EmailBackend", "%recipient.{}%", "MAILGUN", "/v3"),
    "sendgrid": ("anymail.backends.sendgrid.EmailBackend", "-{}-", "SENDGRID", "/v3/"),
}


@pytest.mark.parametrize("esp", list(ESPS))
def test_esp_batch_hand_over_rate(esp, postgres, redis_url, monkeypatch, tmp_path):
    from config import celery_app

    celery_app.conf.task_always_eager = False
    port = free_port()
    sample = tmp_path / "sample.json"
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(port, sample), daemon=True
    )
    server.start()
    backend, merge_field, prefix, path = ESPS[esp]
    settings = {
        "EMAIL_BACKEND": backend,
        f"ANYMAIL_{prefix}_API_KEY": "key-bench",
        f"ANYMAIL_{prefix}_API_URL": f"http://127.0.0.1:{port}{path}",
        "MAIL_ESP_BATCH": "true",
        "MAIL_ESP_MERGE_FIELD": merge_field,
        "MAIL_CHUNK_SIZE": CHUNK,
        "MAIL_BATCH_SIZE": 5 * CHUNK,
        "MAIL_PARALLEL_BATCHES": CONCURRENCY,
    }
    if esp == "sendgrid":  # SendGrid substitutes keys as written: wrap them as our body does
        settings[f"ANYMAIL_{prefix}_MERGE_FIELD_FORMAT"] = merge_field
    log = (tmp_path / "worker.log").open("w")
    worker = mailbench.start_worker(process_env(**settings), concurrency=CONCURRENCY, log=log)
    try:
        mailing_list = mailbench.make_readers(RECIPIENTS)
        mailing = Mailing.objects.create(
            subject="Écoutez vos clients « avant » de construire",
            preheader="Trois questions",
            body="Bonjour {prénom},\n\n" + "Un paragraphe de l’article de la semaine. " * 30,
            send_date=datetime.date(2000, 1, 1),
            send_time=datetime.time(9, 0),
        )
        mailing.lists.add(mailing_list)
        services.mailing_schedule(mailing=mailing)
        with monkeypatch.context() as patch:  # dispatch alone: its figure is bench_mail_dispatch's
            patch.setattr(services, "outbox_wake", lambda *args: None)
            services.mailing_dispatch(mailing_id=mailing.pk)
        time.sleep(3)  # worker boot is not part of the figure

        cpu_before = mailbench.cpu_seconds(worker.pid)
        start = time.perf_counter()
        services.outbox_wake()
        while not Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SENT).exists():
            assert time.perf_counter() - start < 900, "the mailing did not finish"
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        worker_cpu, server_cpu = (
            after - before
            for before, after in zip(cpu_before, mailbench.cpu_seconds(worker.pid), strict=True)
        )
        statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
        assert statuses == {"sent": RECIPIENTS}
        raw_rate = baseline(port, sample, RECIPIENTS // CHUNK)
    finally:
        mailbench.stop_group(worker)
        log.close()
        server.terminate()

    rate = RECIPIENTS / elapsed
    print(
        f"\n[bench esp] {RECIPIENTS} recipients handed to anymail's {esp} backend by "
        f"worker({CONCURRENCY}), batches of {CHUNK} (claim, render, merge data, HTTP, "
        f"record): {rate:,.0f} recipients/s ({elapsed:.1f} s)\n"
        f"[bench esp] baseline: {RECIPIENTS // CHUNK} POSTs of one of those requests, "
        f"prebuilt, {CONCURRENCY} processes: {raw_rate:,.0f} recipients/s\n"
        f"[bench esp] CPU per recipient: worker {worker_cpu / RECIPIENTS * 1e6:.0f} µs, "
        f"PostgreSQL {server_cpu / RECIPIENTS * 1e6:.0f} µs ({os.cpu_count()} cores: "
        f"{(worker_cpu + server_cpu) / elapsed / os.cpu_count():.0%} busy)\n"
        f"[bench esp] ratio: {rate / raw_rate:.0%} of the raw hand-over; target ≥ 20,000/s: "
        f"{'met' if rate >= 20_000 else 'NOT met'}"
    )
    size = f"{RECIPIENTS:,} recipients, concurrency {CONCURRENCY}"
    baseline_label = "the same POSTs, prebuilt"
    report.record(
        f"esp.{esp}",
        f"ESP batch, {esp}, {size}",
        rate,
        "recipients/s",
        raw_rate,
        baseline_label,
        ">= 20000",
    )
    report.record(
        f"esp.{esp}.cpu",
        f"ESP batch, {esp}: the worker's CPU per recipient",
        worker_cpu / RECIPIENTS * 1e6,
        "µs",
    )
