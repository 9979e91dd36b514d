"""Signup POSTs vs a bare one-row insert, same gunicorn, same PostgreSQL, same load.

Prints both requests/s, the ratio, p50 and p99; then checks that the number of
pending subscriptions equals the number of successful signup responses.
Run with `make bench` (or `pytest tests/perf -s`).
"""

import http.client
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection

from config import celery_app
from signups.bootstrap import create_lists
from signups.models import Contact, Subscription
from tests.helpers import ROOT, free_port, process_env, stop, wait_for

from . import mailbench
from .bench_urls import BASELINE_TABLE

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]

# Sizes: `BENCH_SIGNUP_ROUNDS=2 BENCH_SIGNUP_REQUESTS=100` checks that it works.
ROUNDS = int(os.environ.get("BENCH_SIGNUP_ROUNDS", 8))
REQUESTS = int(os.environ.get("BENCH_SIGNUP_REQUESTS", 600))  # per endpoint and per round
WARMUP = int(os.environ.get("BENCH_SIGNUP_WARMUP", 200))
CONCURRENCY = 8
BIN = Path(sys.executable).parent


class _Quiet:
    def write(self, *_args):
        pass


def _get_csrf(port):
    """The CSRF cookie and token, when the page carries them (the public forms are
    checked by their Origin instead, and hold none)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/newsletter/")
    response = conn.getresponse()
    html = response.read().decode()
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    conn.close()
    return (cookie.group(1) if cookie else ""), (token.group(1) if token else "")


def _load(port, path, total, prefix, cookie, token):
    form = (
        f"email={prefix}-{{n}}%40example.org&consent=on&time_zone=Europe%2FParis"
        f"&csrfmiddlewaretoken={token}"
    )
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("loadgen.py")),
            f"--port={port}",
            f"--path={path}",
            f"--requests={total}",
            "--processes=2",
            f"--threads={CONCURRENCY // 2}",
            f"--form={form}",
            f"--header=Cookie: csrftoken={cookie}",
            f"--header=Referer: http://127.0.0.1:{port}/newsletter/",
            f"--header=Origin: http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _loadgen_cpu() -> float:
    """CPU seconds of the finished load generators (waited-for children) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measured(sampler, cpu, load):
    """Run one load and add each component's CPU seconds during it to `cpu`."""
    before, loadgen = sampler.read(), _loadgen_cpu()
    result = load()
    after = sampler.read()
    for component in after:
        cpu[component] = cpu.get(component, 0.0) + after[component] - before[component]
    cpu["loadgen"] = cpu.get("loadgen", 0.0) + _loadgen_cpu() - loadgen
    return result


def _wait_for_replies(timeout=300):
    """Until the worker has answered every signup (the outbox of confirmations is empty)."""
    deadline = time.monotonic() + timeout
    while Subscription.objects.filter(reply_requested_at__isnull=False).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


COMPONENTS = ("gunicorn", "worker", "postgres", "redis", "loadgen")


def _print_cpu(bare_cpu, signup_cpu, drain_cpu, bare_n, signup_n):
    """CPU milliseconds per request, per component: as measured during each side's
    rounds, then as charged (the worker's time during the bare rounds and until the last
    signup is answered is the signups' work). On 2 saturated cores a side's throughput
    is roughly inversely proportional to its charged total."""
    print("  CPU ms per request, per component:")
    print(
        f"    {'component':10} {'bare rounds':>12} {'signup rounds':>14} "
        f"{'bare charged':>13} {'signup charged':>15}"
    )
    totals = [0.0, 0.0, 0.0, 0.0]
    for name in COMPONENTS:
        bare = 1000 * bare_cpu.get(name, 0.0) / bare_n
        signup = 1000 * signup_cpu.get(name, 0.0) / signup_n
        bare_charged, charged = bare, signup + 1000 * drain_cpu.get(name, 0.0) / signup_n
        if name == "worker":  # only signups give the worker work
            bare_charged, charged = 0.0, charged + bare * bare_n / signup_n
        values = (bare, signup, bare_charged, charged)
        for index, value in enumerate(values):
            totals[index] += value
        print(
            f"    {name:10} {values[0]:12.3f} {values[1]:14.3f} {values[2]:13.3f} {values[3]:15.3f}"
        )
    print(
        f"    {'total':10} {totals[0]:12.3f} {totals[1]:14.3f} {totals[2]:13.3f} "
        f"{totals[3]:15.3f}   (bare/signup, charged: {totals[2] / totals[3]:.0%})"
    )


def test_signup_throughput_against_a_bare_insert(postgres, redis_url, tmp_path):
    create_lists(stdout=_Quiet())
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} "
            "(id bigserial PRIMARY KEY, email varchar(254) NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        )
    port = free_port()
    env = process_env(
        DJANGO_SETTINGS_MODULE="tests.perf.bench_settings",
        HOST="127.0.0.1",
        PORT=port,
        GUNICORN_ACCESS_LOG="/dev/null",
        # No worker is replaced mid-run: the restart would land on one endpoint's round.
        GUNICORN_MAX_REQUESTS=0,
        SITE_URL=f"http://127.0.0.1:{port}",
        SIGNUPS_RATE_PER_IP=10**9,
        SIGNUPS_RATE_PER_ADDRESS=10**9,
    )
    # A real worker sends the confirmation emails (to an SMTP sink) while the load runs,
    # on the same cores: the signup is charged for them.
    sink_port = free_port()
    sink = mailbench.start_sink(sink_port)
    worker_env = {
        **env,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink_port),
    }
    worker_log = (tmp_path / "worker.log").open("w")
    worker = mailbench.start_worker(worker_env, concurrency=2, log=worker_log)
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "config.wsgi", "--config", "platform/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: _up(port), timeout=30, message="gunicorn")
        cookie, token = _get_csrf(port)
        # Warm both paths (connections, imports, caches) before measuring.
        _load(port, "/bench/bare/", WARMUP, "warm-bare", cookie, token)
        _load(port, "/inscription/newsletter/", WARMUP, "warm", cookie, token)
        pending_before = Subscription.objects.filter(status="pending").count()

        _wait_for_replies()
        # Alternate the two endpoints so that a noisy neighbour hurts both alike, and
        # which one goes first: the second of a pair inherits the first's leftovers.
        bare_runs, signup_runs = [], []
        bare_cpu, signup_cpu, drain_cpu = {}, {}, {}
        sampler = mailbench.CpuSampler(
            trees={"gunicorn": server.pid, "worker": worker.pid},
            database=connection.settings_dict["NAME"],
            redis_port=urlsplit(settings.REDIS_URL).port,
        )
        with sampler:
            for round_ in range(ROUNDS):
                sides = [
                    (bare_runs, bare_cpu, "/bench/bare/", f"bare{round_}"),
                    (signup_runs, signup_cpu, "/inscription/newsletter/", f"bench{round_}"),
                ]
                for runs, cpu, path, prefix in sides[:: -1 if round_ % 2 else 1]:
                    load = lambda p=path, x=prefix: _load(port, p, REQUESTS, x, cookie, token)  # noqa: E731
                    runs.append(_measured(sampler, cpu, load))
            drained = _measured(sampler, drain_cpu, _wait_for_replies)
    finally:
        stop(server)
        log.close()
        mailbench.stop_group(worker)
        worker_log.close()
        sink.terminate()
        sink.wait()
        celery_app.control.purge()  # the wake-ups queued by the run
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {BASELINE_TABLE}")

    bare, signup = _combine(bare_runs), _combine(signup_runs)
    # Each round runs both endpoints back to back: the median of the rounds' ratios
    # is the figure least disturbed by other work on the machine.
    pair_ratios = sorted(s["rps"] / b["rps"] for b, s in zip(bare_runs, signup_runs, strict=True))
    ratio = (pair_ratios[(ROUNDS - 1) // 2] + pair_ratios[ROUNDS // 2]) / 2
    print()
    for name, run in (("bare insert", bare), ("signup POST", signup)):
        print(
            f"  {name} : {run['rps']:8.1f} req/s  p50 {run['p50_ms']:6.1f} ms  "
            f"p99 {run['p99_ms']:6.1f} ms  statuses {run['statuses']}  "
            f"rounds {[round(r['rps']) for r in run['runs']]}"
        )
    print(
        f"  ratio       : {ratio:.0%} of the bare insert (median of {ROUNDS} rounds of "
        f"{REQUESTS} requests each, {CONCURRENCY} connections, a worker sending the "
        f"confirmations, first side alternating; overall "
        f"{signup['rps'] / bare['rps']:.0%}; rounds {[f'{r:.0%}' for r in pair_ratios]})"
    )

    _print_cpu(bare_cpu, signup_cpu, drain_cpu, bare["requests"], signup["requests"])
    assert drained, "the worker did not answer every signup in time"

    successes = signup["statuses"].get("303", 0)
    pending = Subscription.objects.filter(status="pending").count() - pending_before
    print(f"  successful signup responses {successes}, new pending subscriptions {pending}")
    assert pending == successes
    assert Contact.objects.filter(email__startswith="bench").count() == successes
    from . import report

    report.record(
        "signup",
        f"signup POST, worker sending the confirmations, {ROUNDS} rounds × {REQUESTS}",
        signup["rps"],
        "req/s",
        bare["rps"],
        "bare insert, same gunicorn and PostgreSQL",
        ">= 0.6 x baseline",
        ratio=ratio,  # the median of the rounds' ratios, as printed
    )


def _combine(runs):
    """Overall rate over every round; latencies: the median round's p50 and p99."""
    statuses = {}
    for run in runs:
        for key, value in run["statuses"].items():
            statuses[key] = statuses.get(key, 0) + value
    requests = sum(run["requests"] for run in runs)
    seconds = sum(run["seconds"] for run in runs)
    middle = len(runs) // 2
    return {
        "rps": requests / seconds,
        "requests": requests,
        "p50_ms": sorted(run["p50_ms"] for run in runs)[middle],
        "p99_ms": sorted(run["p99_ms"] for run in runs)[middle],
        "statuses": statuses,
        "runs": runs,
    }


def _up(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status in (200, 503)
    except OSError:
        return False
