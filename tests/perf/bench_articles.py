"""Benchmarks for the reading site and the importer (run with `make bench`, or pytest -s).

Pages: gunicorn (platform/gunicorn.conf.py without worker recycling, the same settings
for every target) serves a bare Django view returning a constant string and the reading
pages over a blog of BENCH_PAGES_ARTICLES generated articles (500) plus the seeds; one
load generator hits each target in turn: wrk when installed (`apt-get install wrk`),
driven by the same Lua script for every target, else tests/perf/loadgen.py for every
target (never the two in one comparison; BENCH_PAGES_LOADGEN=1 chooses loadgen.py).
`{n}` in a path is new on every request.

Cache hits: the home page, an article, a listing page, the home page with a parameter
no view reads. Cache misses: the same views at a new address on every request
(`/bench/miss/<n>/…`, tests/perf/bench_urls.py: their decorators and page cache
included), so each request renders the page and stores it. Junk: a listing page number
past the last page, new on every request. The share of responses that were cache hits
and misses (their X-Page-Cache header) is printed beside each target, then each page's
cost in this process (BENCH_PAGES_INPROCESS requests each through Django's WSGI
handler, CPU and wall time). The issue asks for the pages to reach 80% of the bare
view's requests per second; the figures and the ratios are printed, not asserted (no
wall-clock assertion in tests).
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
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from articles.models import Article
from tests.helpers import BIN, ROOT, free_port, process_env, stop, wait_for

pytestmark = [pytest.mark.perf, pytest.mark.django_db(transaction=True)]

SECONDS = float(os.environ.get("BENCH_PAGES_SECONDS", 2))
# The targets take turns, so a load spike on the machine hits them alike.
ROUNDS = int(os.environ.get("BENCH_PAGES_ROUNDS", 8))
ARTICLES = int(os.environ.get("BENCH_PAGES_ARTICLES", 500))
IN_PROCESS = int(os.environ.get("BENCH_PAGES_INPROCESS", 100))
WARMUP = 2
# A listing page in the middle of the blog (10 articles a page).
LIST_PAGE = max(1, ARTICLES // 20)

# BENCH_PAGES_LOADGEN=1: loadgen.py for every target even where wrk is installed.
WRK = None if os.environ.get("BENCH_PAGES_LOADGEN") == "1" else shutil.which("wrk")

# One script for every target, the bare view included: the same per-request work in wrk.
# `{n}`: the thread's number and its request count, after the run's own prefix.
WRK_SCRIPT = """
local template = %s
local made, threads = 0, {}
function setup(thread)
  made = made + 1
  thread:set("id", made)
  table.insert(threads, thread)
end
function init(args)
  count, hits, misses, others = 0, 0, 0, 0
end
function request()
  count = count + 1
  local path = template:gsub("{n}", string.format("%%02d%%d", id, count))
  return wrk.format(nil, path)
end
function response(status, headers, body)
  local state = headers["X-Page-Cache"]
  if state == "hit" then hits = hits + 1
  elseif state == "miss" then misses = misses + 1
  else others = others + 1 end
end
function done(summary, latency, requests)
  local h, m, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    h, m, o = h + thread:get("hits"), m + thread:get("misses"), o + thread:get("others")
  end
  io.write(string.format("page cache: hit %%d miss %%d none %%d\\n", h, m, o))
end
"""

_runs = iter(range(1, 10**6))


def _load(port, path, seconds, scripts):
    """One window on one target. A `{n}` in the path gets this run's own prefix, then a
    number new on every request: no two requests of the whole benchmark share it."""
    path = path.replace("{n}", f"9{next(_runs):04d}{{n}}")
    if WRK:
        script = scripts / f"run-{time.monotonic_ns()}.lua"
        script.write_text(WRK_SCRIPT % json.dumps(path))
        result = subprocess.run(
            [
                WRK,
                "-t2",
                "-c8",
                f"-d{max(1, round(seconds))}s",  # whole seconds only
                "-s",
                str(script),
                "-H",
                "Accept-Language: fr",
                f"http://127.0.0.1:{port}/",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        script.unlink()
        done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", result.stdout)
        requests = int(done.group(1))
        seconds = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
        socket_errors = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", result.stdout
        )
        cache = re.search(r"page cache: hit (\d+) miss (\d+) none (\d+)", result.stdout)
        errors = (int(bad.group(1)) if bad else 0) + (
            sum(map(int, socket_errors.groups())) if socket_errors else 0
        )
        return {
            "rps": requests / seconds,
            "requests": requests,
            "errors": errors,
            "seconds": seconds,
            "page_cache": dict(zip(("hit", "miss", "none"), map(int, cache.groups()), strict=True)),
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


def _generated_articles(folder, count: int, first_date=datetime(2020, 1, 1, tzinfo=UTC)):
    """`count` Markdown articles of about 2 kB of text each, in ten categories."""
    folder.mkdir()
    paragraph = (
        "Écouter ses clients, c’est la base : « qu’est-ce qui vous empêche de dormir ? » "
        "Leurs réponses valent mieux que vos intuitions. "
    )
    for number in range(count):
        date = (first_date + timedelta(hours=number)).isoformat()
        (folder / f"{number:04}.md").write_text(
            f'---\ntitle: "Article généré n° {number}"\ndate: {date}\n'
            f"categories:\n  - Catégorie {number % 10}\n---\n\n## Intertitre\n\n"
            + "\n\n".join([paragraph * 4] * 6)
            + "\n\n- un\n- deux\n",
            encoding="utf-8",
        )
    return folder


def _blog(tmp_path):
    """The starting lists (pages carry their compact signup forms, as in production),
    the seed articles and ARTICLES generated ones. Returns a seed article."""
    from signups.bootstrap import create_lists

    create_lists(stdout=io.StringIO())
    for folder in (ROOT / "seeds" / "articles", _generated_articles(tmp_path / "blog", ARTICLES)):
        call_command("import_articles", str(folder), verbosity=0, stdout=io.StringIO())
    return Article.objects.get(source_path__endswith="000_44d30dadf588b13b.txt")


def test_pages_against_a_bare_django_view(tmp_path, settings):
    article = _blog(tmp_path)
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
    slug = article.get_absolute_url()
    paths = {
        "vue Django nue": "/bench/constant/",
        # Cache hits.
        "accueil": "/",
        "article": slug,
        f"liste, page {LIST_PAGE}": f"/articles/?page={LIST_PAGE}",
        # A parameter no view reads, new on every request: the same cached page.
        "accueil ?x=<n>": "/?x={n}",
        # Cache misses: the same views at a new address each time, rendered then stored.
        "accueil (miss)": "/bench/miss/{n}/",
        "article (miss)": "/bench/miss/{n}" + slug,
        f"liste, page {LIST_PAGE} (miss)": f"/bench/miss/{{n}}/articles/?page={LIST_PAGE}",
        # Junk: a page number past the last page, new on every request.
        "liste ?page=<n> (hors limites)": "/articles/?page={n}",
    }
    scripts = tmp_path / "wrk"
    scripts.mkdir()
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
        sizes = _checked_and_warmed(port, paths, scripts)
        results = _measured_in_turns(port, paths, scripts)
    finally:
        stop(server)
        log.close()
    settings.ROOT_URLCONF = "tests.perf.bench_urls"
    in_process = _in_process(paths)
    _report(env, paths, results, sizes, in_process)
    for result in results.values():
        assert result["errors"] == 0 and result["requests"] > 0
    for label in paths:
        cache = results[label]["page_cache"]
        if "(miss)" in label:  # every request rendered, none served from a cache
            assert cache["miss"] == results[label]["requests"], label
        elif label != "vue Django nue" and "hors limites" not in label:
            assert cache["hit"] == results[label]["requests"], label
    junk = results["liste ?page=<n> (hors limites)"]["page_cache"]
    assert junk["miss"] == 0  # never one more stored page
    from . import report

    baseline = results["vue Django nue"]["rps"]
    for label, result in results.items():
        if label != "vue Django nue":
            report.record(
                f"pages.{label}",
                f"page « {label} », {ROUNDS} rounds × {SECONDS:g} s",
                result["rps"],
                "req/s",
                baseline,
                "bare Django view",
                # A number past the last page is a redirect, not a page: no target.
                None if "hors limites" in label else ">= 0.8 x baseline",
            )


def _report(env, paths, results, sizes, in_process):
    baseline = results["vue Django nue"]["rps"]
    print()
    print(
        f"gunicorn ({env['WEB_CONCURRENCY']} workers x {env['GUNICORN_THREADS']} threads), "
        f"{Article.objects.count()} articles, {ROUNDS} rounds of {SECONDS} s per target, "
        "taking turns; "
        + (
            "wrk, 2 threads x 8 connections, one Lua script for all:"
            if WRK
            else "loadgen.py for all (no wrk, or BENCH_PAGES_LOADGEN=1), 2 processes x 4 connections:"
        )
    )
    for label, result in results.items():
        cache = result["page_cache"]
        total = sum(cache.values()) or 1
        print(
            f"  {label:30} {result['rps']:7.0f} req/s  ratio {result['rps'] / baseline:4.0%}"
            f"  cache hits {cache['hit'] / total:4.0%}, misses {cache['miss'] / total:4.0%}"
            f"  ({result['requests']} requests, {result['errors']} errors, {sizes[label]:,} bytes)"
        )
    pairs = [label for label in results if f"{label} (miss)" in results]
    print(
        "  side by side, cache hit / miss, ratio to the bare view: "
        + ", ".join(
            f"{label} {results[label]['rps'] / baseline:.0%}"
            f" / {results[f'{label} (miss)']['rps'] / baseline:.0%}"
            for label in pairs
        )
    )
    print(
        f"In this process, {IN_PROCESS} requests each through Django's WSGI handler "
        "(PostgreSQL and Redis work not in the CPU figure):"
    )
    bare_cpu = in_process["vue Django nue"][0]
    for label, (cpu, wall) in in_process.items():
        print(
            f"  {label:30} {cpu:6.2f} ms CPU ({cpu / bare_cpu:5.1f}x the bare view), "
            f"{wall:6.2f} ms wall per request"
        )


def _checked_and_warmed(port: int, paths: dict, scripts) -> dict:
    """Each target once (forms included where readers get them), then warmed up.
    Returns each response's size."""
    sizes = {}
    for label, path in paths.items():
        url = f"http://127.0.0.1:{port}{path.replace('{n}', '90')}"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
            body = response.read()
        sizes[label] = len(body)
        if label in ("accueil", "article", "article (miss)"):
            assert b"signup-compact" in body  # the page as readers get it, forms included
        _load(port, path, WARMUP, scripts)
    return sizes


def _measured_in_turns(port: int, paths: dict, scripts) -> dict:
    """ROUNDS rounds of SECONDS per target, taking turns: requests, errors, seconds, rps,
    page_cache (responses by their X-Page-Cache header)."""
    results = {
        label: {
            "requests": 0,
            "errors": 0,
            "seconds": 0.0,
            "page_cache": {"hit": 0, "miss": 0, "none": 0},
        }
        for label in paths
    }
    order = list(paths.items())
    for round_number in range(ROUNDS):
        # Each round starts with a different target: no position favours one of them.
        shift = round_number % len(order)
        for label, path in order[shift:] + order[:shift]:
            result = _load(port, path, SECONDS, scripts)
            for name in ("requests", "errors", "seconds"):
                results[label][name] += result[name]
            for state, count in result["page_cache"].items():
                results[label]["page_cache"][state] += count
    for result in results.values():
        result["rps"] = result["requests"] / result["seconds"]
    return results


def _in_process(paths: dict) -> dict:
    """Each target's cost in this process: CPU and wall milliseconds per request through
    Django's WSGI handler (no HTTP server, no load generator), IN_PROCESS requests."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    costs = {}
    for label, path in paths.items():
        template = path.replace("{n}", f"8{next(_runs):04d}{{n}}")
        for number in range(IN_PROCESS + 5):  # five to warm up
            if number == 5:
                cpu, wall = time.process_time(), time.perf_counter()
            address, _, query = template.replace("{n}", str(number)).partition("?")
            environ = {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": address,
                "QUERY_STRING": query,
                "SERVER_NAME": "testserver",
                "SERVER_PORT": "80",
                "HTTP_HOST": "testserver",
                "HTTP_ACCEPT_LANGUAGE": "fr",
                "wsgi.input": io.BytesIO(),
                "wsgi.url_scheme": "http",
            }
            for _chunk in handler(environ, lambda status, headers: None):
                pass
        costs[label] = (
            (time.process_time() - cpu) * 1000 / IN_PROCESS,
            (time.perf_counter() - wall) * 1000 / IN_PROCESS,
        )
    return costs


def test_import_a_thousand_generated_articles(tmp_path):
    folder = _generated_articles(tmp_path / "generated", 1000)
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
