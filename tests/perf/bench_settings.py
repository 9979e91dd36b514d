"""Benchmark-only settings: the production settings plus a URLconf holding the
baselines (tests/perf/bench_urls.py). Never used outside tests/perf."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.perf.bench_urls"
# Benchmarks do not depend on collectstatic having run (as tests/conftest.py).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
