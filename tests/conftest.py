"""Shared fixtures.

In CI (`CI=true`) the suite runs twice: on PostgreSQL and Redis, where a test
that needs a real service fails when it is unreachable, and on the embedded
defaults (`POULS_TEST_EMBEDDED=1`: SQLite, the filesystem broker), where such a
test is skipped because the first pass ran it. On a developer's machine without
the service it is skipped with the reason.
"""

import os

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
EMBEDDED_PASS = os.environ.get("POULS_TEST_EMBEDDED", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip outside CI when a real part is missing; fail in CI."""
    if condition:
        return
    if IN_CI and not EMBEDDED_PASS:
        pytest.fail(f"CI needs this: {reason}")
    pytest.skip(reason)


# A test run keeps to the one Redis database REDIS_URL names (clearing the caches
# empties it between tests): the pages cache, in its own database in production
# (CACHE_URL), shares it here (its keys are its own). Processes the tests start get the
# same (tests.helpers.process_env). tests/foundation/test_cache_settings.py checks the
# production layout and the eviction policy on a Redis of its own.
if django_settings.REDIS_URL and not os.environ.get("CACHE_URL"):
    django_settings.CACHES["pages"].update(
        BACKEND="django.core.cache.backends.redis.RedisCache", LOCATION=django_settings.REDIS_URL
    )
    django_settings.CACHES["pages"].pop("OPTIONS", None)


@pytest.fixture(autouse=True)
def _clean_cache():
    caches["default"].clear()
    caches["pages"].clear()
    yield


@pytest.fixture(autouse=True)
def _no_wake_up_remembered():
    """Each test starts without a reply wake-up seen waiting by this process."""
    from signups.wakeup import reply_wakeup_forget

    reply_wakeup_forget()
    yield
    reply_wakeup_forget()


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run in-process in ordinary tests; tests/…/test_worker*.py start real workers."""
    from config import celery_app

    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def postgres():
    from django.db import connection

    require(connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL)")
    return connection


@pytest.fixture
def redis_url():
    require(bool(django_settings.REDIS_URL), "needs Redis (set REDIS_URL)")
    import redis

    client = redis.Redis.from_url(django_settings.REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        require(False, f"Redis at REDIS_URL is unreachable: {exc}")
    finally:
        client.close()
    return django_settings.REDIS_URL


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests do not run collectstatic: serve static files without the manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _reply_files_kept_apart(settings, tmp_path):
    """Readers' reply attachments go to this test's directory, not the checkout's var/."""
    settings.STORAGES = {
        **settings.STORAGES,
        "replies": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "replies")},
        },
    }


@pytest.fixture(autouse=True)
def _default_language():
    """A request in English must not leave English active for the next test."""
    from django.utils import translation

    yield
    translation.activate(django_settings.LANGUAGE_CODE)
