"""Shared fixtures.

In CI (`CI=true`) the suite runs twice: on PostgreSQL and Redis, where a test
that needs a real service fails when it is unreachable, and on the embedded
defaults (`POULS_TEST_EMBEDDED=1`: SQLite, the filesystem broker), where such a
test is skipped because the first pass ran it. On a developer's machine without
the service it is skipped with the reason.
"""

import os
import threading
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.core.cache import caches

from tests.helpers import free_port

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


class Recorder:
    """An SMTP server in a thread: keeps every message it accepts, and answers chosen
    recipients otherwise: `refuse` always ("550 ...", "451 ..."), `defer_once` the
    first time only, `hang_up` by closing the connection once it has the message's
    content, without an answer. `received` counts every content that arrived."""

    def __init__(self):
        self.messages = []
        self.refuse = {}  # address -> "550 ..." / "450 ..."
        self.defer_once = {}  # address -> "451 ...", then accepted
        self.hang_up = set()
        self.received = Counter()
        self.pipelining = False  # offer ESMTP PIPELINING (RFC 2920), as Postfix does
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        if address in self.defer_once:
            return self.defer_once.pop(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.update(envelope.rcpt_tos)
        if self.hang_up.intersection(envelope.rcpt_tos):
            server.transport.close()
            return "250 never read"
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server(settings):
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    yield recorder
    controller.stop()
