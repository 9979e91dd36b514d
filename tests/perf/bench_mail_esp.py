"""ESP hand-over: anymail's Mailgun and SendGrid backends in batch mode (one API call per
1,000 recipients, personalised by merge data and per-recipient headers) pointed at a
local HTTP endpoint standing in for the ESP's API, running in its own process. Claim,
render, hand over, record.

Baseline, same run: the same number of POSTs of the same bodies, prebuilt, with one
requests session (the endpoint's own limit). BENCH_ESP_RECIPIENTS (default 100000)."""

import datetime
import json
import multiprocessing
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from mailings import services
from mailings.models import Delivery, Mailing
from tests.helpers import free_port

from . import mailbench

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]
RECIPIENTS = int(os.environ.get("BENCH_ESP_RECIPIENTS", 100_000))
CHUNK = 1000  # Mailgun's batch limit


class Endpoint(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.endswith("/sample"):
            answer = str(len(body)).encode()
        else:
            Endpoint.last_size = len(body)
            answer = json.dumps(
                {"id": "<bench@mg.pouls.example>", "message": "Queued. Thank you."}
            ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def serve(port):
    HTTPServer(("127.0.0.1", port), Endpoint).serve_forever()


ESPS = {
    "mailgun": ("anymail.backends.mailgun.EmailBackend", "%recipient.{}%", "MAILGUN", "/v3"),
    "sendgrid": ("anymail.backends.sendgrid.EmailBackend", "-{}-", "SENDGRID", "/v3/"),
}


@pytest.mark.parametrize("esp", list(ESPS))
def test_esp_batch_hand_over_rate(esp, postgres, settings, monkeypatch):
    monkeypatch.setattr(
        services, "outbox_wake", lambda *args: None
    )  # this process drains the outbox
    port = free_port()
    server = multiprocessing.get_context("fork").Process(target=serve, args=(port,), daemon=True)
    server.start()
    backend, merge_field, prefix, path = ESPS[esp]
    settings.EMAIL_BACKEND = backend
    settings.ANYMAIL = {
        f"{prefix}_API_KEY": "key-bench",
        f"{prefix}_API_URL": f"http://127.0.0.1:{port}{path}",
        # SendGrid substitutes keys as written: anymail must wrap them like our body does.
        f"{prefix}_MERGE_FIELD_FORMAT": merge_field if esp == "sendgrid" else None,
    }
    settings.MAIL_ESP_MERGE_FIELD = merge_field
    settings.MAIL_ESP_BATCH = True
    settings.MAIL_CHUNK_SIZE = CHUNK
    settings.MAIL_BATCH_SIZE = 5 * CHUNK
    captured = []
    original_request = requests.Session.request

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
        services.mailing_dispatch(mailing_id=mailing.pk)  # its figure is bench_mail_dispatch's
        time.sleep(0.3)

        start = time.perf_counter()
        while services.outbox_send_batch():
            pass
        elapsed = time.perf_counter() - start
        assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == RECIPIENTS
        assert elapsed > 0.1  # really timed the hand-over, not an empty outbox

        # Baseline: one real request body of ours, posted as many times as we made calls.
        def capture(self, *args, **kwargs):
            captured.append(kwargs)
            return original_request(self, *args, **kwargs)

        requests.Session.request = capture
        Delivery.objects.filter(pk__in=Delivery.objects.order_by("pk").values("pk")[:CHUNK]).update(
            status=Delivery.Status.PENDING
        )
        services.outbox_send_batch()
        requests.Session.request = original_request
        sample = captured[0]
        body = requests.Request(
            "POST",
            sample["url"],
            data=sample["data"],
            headers=sample.get("headers"),
            auth=sample.get("auth"),
        ).prepare()  # the encoded request, built once: only the hand-over is timed
        calls = RECIPIENTS // CHUNK
        with requests.Session() as session:
            start = time.perf_counter()
            for _ in range(calls):
                session.send(body).raise_for_status()
            raw = time.perf_counter() - start
    finally:
        requests.Session.request = original_request
        server.terminate()

    rate = RECIPIENTS / elapsed
    raw_rate = calls * CHUNK / raw
    print(
        f"\n[bench esp] {RECIPIENTS} recipients handed to anymail's {esp} backend in batches of "
        f"{CHUNK} (claim, render, merge data, HTTP, record): {rate:,.0f} recipients/s ({elapsed:.1f} s)\n"
        f"[bench esp] baseline: the same {calls} prebuilt requests posted with one requests session: "
        f"{raw_rate:,.0f} recipients/s\n"
        f"[bench esp] ratio: {rate / raw_rate:.0%} of the raw hand-over; target ≥ 20,000/s: "
        f"{'met' if rate >= 20_000 else 'NOT met'}"
    )
