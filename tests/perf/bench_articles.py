"""Benchmarks for the reading site and the importer (run with `make bench`, or pytest -s).

Pages: gunicorn (platform/gunicorn.conf.py without worker recycling, the same settings
for all three) serves the
home page, an article page and a bare Django view returning a constant string; the
same load generator (tests/perf/loadgen.py) hits each in turn. The issue asks for the
two pages to reach 80% of the bare view's requests per second; the figures and the
ratios are printed, not asserted (no wall-clock assertion in tests).
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.management import call_command

from articles.models import Article
from tests.helpers import BIN, ROOT, free_port, process_env, stop, wait_for

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]

SECONDS = float(os.environ.get("BENCH_PAGES_SECONDS", 2))
# The targets take turns, so a load spike on the machine hits them alike.
ROUNDS = int(os.environ.get("BENCH_PAGES_ROUNDS", 8))
WARMUP = 2


WRK = shutil.which("wrk")


def _load(port, path, seconds):
    """wrk when installed (C, light on the shared CPUs), else tests/perf/loadgen.py
    (always for a path holding `{n}`: a query string of its own on every request)."""
    if WRK and "{n}" not in path:
        seconds = max(1, round(seconds))  # wrk takes whole seconds: "2s", not "2.0s"
        result = subprocess.run(
            [
                WRK,
                "-t2",
                "-c8",
                f"-d{seconds}s",
                "-H",
                "Accept-Language: fr",
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        requests = int(re.search(r"(\d+) requests in", result.stdout).group(1))
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
        socket_errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", result.stdout
        )
        errors = (int(bad.group(1)) if bad else 0) + (
            sum(map(int, socket_errors.groups())) if socket_errors else 0
        )
        return {
            "rps": requests / seconds,
            "requests": requests,
            "errors": errors,
            "seconds": seconds,
        }
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "perf" / "loadgen.py"),
            f"--port={port}",
            f"--path={path}",
            f"--seconds={seconds}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_pages_against_a_bare_django_view(tmp_path, settings):
    from signups.bootstrap import create_lists

    # As in production (bootstrap): the open lists, so the pages carry their compact
    # signup forms, each with the visitor's CSRF token.
    create_lists(stdout=io.StringIO())
    call_command(
        "import_articles",
        str(ROOT / "seeds" / "articles"),
        verbosity=0,
        stdout=open("/dev/null", "w"),
    )
    article = Article.objects.get(source_path__endswith="000_44d30dadf588b13b.txt")
    env = process_env(
        DJANGO_SETTINGS_MODULE="tests.perf.bench_settings",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="2",
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "--config",
            "platform/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            # Steady state: no worker recycling (max_requests) in the middle of a window,
            # which would charge a Django start-up to whichever page is being measured.
            "--max-requests",
            "0",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def up():
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/bench/constant/", timeout=2
                ) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_for(up, timeout=30, message="gunicorn")
        paths = {
            "vue Django nue": "/bench/constant/",
            "accueil": "/",
            "article": article.get_absolute_url(),
            # A parameter no view reads, new on every request: the same cached page.
            "accueil ?x=<n>": "/?x={n}",
            # A page number new on every request: the view reads it, so every request is
            # a cache miss (rendered, then stored), the worst case of the page cache.
            "liste ?page=<n> (miss)": "/articles/?page={n}",
        }
        sizes = _checked_and_warmed(port, paths)
        results = _measured_in_turns(port, paths)
    finally:
        stop(server)
        log.close()
    baseline = results["vue Django nue"]["rps"]
    print()
    print(
        f"gunicorn ({env['WEB_CONCURRENCY']} workers x {env['GUNICORN_THREADS']} threads), "
        f"{ROUNDS} rounds of {SECONDS} s per page, taking turns; "
        + (
            "wrk, 2 threads x 4 connections:"
            if WRK
            else "loadgen.py, 2 processes x 4 keep-alive connections:"
        )
    )
    for label, result in results.items():
        print(
            f"  {label:22} {result['rps']:8.0f} req/s  ({result['requests']} requests, {result['errors']} errors)"
            f"  ratio {result['rps'] / baseline:.0%} of the bare view, {sizes[label]:,} bytes"
        )
    for result in results.values():
        assert result["errors"] == 0 and result["requests"] > 0
    from . import report

    for label, result in results.items():
        if label != "vue Django nue":
            report.record(
                f"pages.{label}",
                f"page « {label} », {ROUNDS} rounds × {SECONDS:g} s",
                result["rps"],
                "req/s",
                baseline,
                "bare Django view",
                ">= 0.8 x baseline",
            )


def _checked_and_warmed(port: int, paths: dict) -> dict:
    """Each page once (200, forms included where readers get them), then warmed up.
    Returns each page's size."""
    sizes = {}
    for label, path in paths.items():
        url = f"http://127.0.0.1:{port}{path.replace('{n}', '0')}"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
            body = response.read()
        sizes[label] = len(body)
        if path in (paths["accueil"], paths["article"]):
            assert b"signup-compact" in body  # the page as readers get it, forms included
        _load(port, path, WARMUP)
    return sizes


def _measured_in_turns(port: int, paths: dict) -> dict:
    """ROUNDS rounds of SECONDS per page, taking turns: requests, errors, seconds, rps."""
    results = {label: {"requests": 0, "errors": 0, "seconds": 0.0} for label in paths}
    order = list(paths.items())
    for round_number in range(ROUNDS):
        # Each round starts with a different target: no position favours one of them.
        shift = round_number % len(order)
        for label, path in order[shift:] + order[:shift]:
            result = _load(port, path, SECONDS)
            for name in ("requests", "errors", "seconds"):
                results[label][name] += result[name]
    for result in results.values():
        result["rps"] = result["requests"] / result["seconds"]
    return results


def test_import_a_thousand_generated_articles(tmp_path):
    folder = tmp_path / "generated"
    folder.mkdir()
    paragraph = (
        "Écouter ses clients, c’est la base : « qu’est-ce qui vous empêche de dormir ? » "
        "Leurs réponses valent mieux que vos intuitions. "
    )
    for number in range(1000):
        (folder / f"{number:04}.md").write_text(
            f'---\ntitle: "Article généré n° {number}"\ndate: 2020-01-01T10:00:00+00:00\n'
            f"categories:\n  - Catégorie {number % 10}\n---\n\n## Intertitre\n\n"
            + "\n\n".join([paragraph * 4] * 6)
            + "\n\n- un\n- deux\n",
            encoding="utf-8",
        )
    from articles.importers.document import parse_document

    started = time.perf_counter()
    for path in sorted(folder.iterdir()):
        parse_document(path.read_bytes())
    parse_only = time.perf_counter() - started

    started = time.perf_counter()
    call_command("import_articles", str(folder), stdout=open("/dev/null", "w"))
    elapsed = time.perf_counter() - started
    assert Article.objects.count() == 1000

    started = time.perf_counter()
    call_command("import_articles", str(folder), stdout=open("/dev/null", "w"))
    again = time.perf_counter() - started
    print()
    print(
        f"import of 1,000 generated articles: {elapsed:.2f} s, {1000 / elapsed:.0f} articles/s (budget: 10 s)"
    )
    print(
        f"  baseline, parsing only (no database): {parse_only:.2f} s; import = {elapsed / parse_only:.1f}x parsing"
    )
    print(f"  re-import, nothing changed: {again:.2f} s")
    from . import report

    report.record(
        "import.markdown",
        "import of 1,000 Markdown articles",
        elapsed,
        "s",
        parse_only,
        "parsing only",
        "< 10",
    )
