"""Benchmark-only settings: the production settings plus a URLconf with a bare baseline view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.perf.bench_urls"
