"""Settings for the signup benchmark's gunicorn: the production settings plus a
test-only URLconf holding the baseline view. Never used outside tests/perf."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.perf.bench_urls"
# Tests do not run collectstatic: serve static files without the manifest (as tests/conftest.py).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
