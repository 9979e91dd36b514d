"""The pages cache lives apart from the broker: its own Redis database by default
(CACHE_URL), and a flood of pages never blocks the broker nor the site."""

import secrets
import shutil
import subprocess
import time

import pytest
from django.test import Client, override_settings

from tests.articles.helpers import make_article
from tests.conftest import require
from tests.helpers import free_port

from .test_settings import manage


def cache_locations(tmp_path, **variables) -> dict:
    # Empty values, not missing ones: a developer's .env never fills them in.
    env = {
        "PATH": "/usr/bin:/bin",
        "POULS_VAR_DIR": str(tmp_path),
        "REDIS_URL": "",
        "CACHE_URL": "",
    }
    env.update(variables)
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings; "
        "print(settings.CACHES['default']['LOCATION']); "
        "print(settings.CACHES['pages']['LOCATION']); "
        "print(settings.CELERY_BROKER_URL)",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    default, pages, broker = result.stdout.split()[-3:]
    return {"default": default, "pages": pages, "broker": broker}


@pytest.mark.parametrize(
    ("redis_url", "pages"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"),
        ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/1"),
        ("rediss://:secret@redis.example.org:6380/7", "rediss://:secret@redis.example.org:6380/8"),
        ("redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/14"),
        ("unix:///run/redis.sock?db=3", "unix:///run/redis.sock?db=4"),
    ],
)
def test_pages_cache_defaults_to_another_database_of_redis(redis_url, pages, tmp_path):
    found = cache_locations(tmp_path, REDIS_URL=redis_url)
    assert found == {"default": redis_url, "pages": pages, "broker": redis_url}


def test_cache_url_puts_the_pages_on_their_own_redis(tmp_path):
    found = cache_locations(
        tmp_path, REDIS_URL="redis://127.0.0.1:6379/0", CACHE_URL="redis://cache.internal:6379/0"
    )
    assert found["pages"] == "redis://cache.internal:6379/0"
    assert found["broker"] == found["default"] == "redis://127.0.0.1:6379/0"


def test_embedded_defaults_keep_pages_in_their_own_folder(tmp_path):
    found = cache_locations(tmp_path)
    assert found["pages"] == str(tmp_path / "cache-pages")
    assert found["default"] == str(tmp_path / "cache")


def test_malformed_cache_url_gives_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "POULS_VAR_DIR": str(tmp_path), "CACHE_URL": "cache:6379"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and "CACHE_URL" in result.stderr


@pytest.fixture
def small_redis(tmp_path):
    """A Redis of its own with 2 MB of memory; the test sets its eviction policy."""
    require(
        shutil.which("redis-server") is not None,
        "needs redis-server (apt-get install redis-server)",
    )
    import redis

    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(tmp_path),
            "--maxmemory", "2mb",
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield port, client
    client.close()
    server.terminate()
    server.wait(10)


def flood(broker_url, pages_url):
    """A broker message waits; then 1,000 searches (2.4 kB each) with a unique query each (the pages
    cache keys on `q`, so each is a page of its own) fill the pages cache."""
    from kombu import Connection

    from articles.cache import forget_local

    for number in range(12):
        make_article(title=f"Article {number}", slug=f"article-{number}")
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "pages": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": pages_url},
    }
    with Connection(broker_url) as connection:
        queue = connection.SimpleQueue("pouls-flood-test")
        queue.put({"task": "waiting before the flood"})
        statuses = set()
        with override_settings(CACHES=caches):
            forget_local()
            for _ in range(1000):
                statuses.add(Client().get(f"/articles/?q={secrets.token_hex(6)}").status_code)
            forget_local()
        queue.put({"task": "queued after the flood"})
        received = []
        for _ in range(2):
            message = queue.get(timeout=2)
            message.ack()
            received.append(message.payload["task"])
        queue.close()
    return statuses, received


@pytest.mark.django_db
def test_full_pages_cache_on_a_shared_instance_never_blocks_the_broker(small_redis):
    """One Redis instance for both (the default CACHE_URL: another database number):
    eviction is per instance, so the README's volatile-lru evicts expiring keys only,
    every page, never the broker's queues."""
    port, client = small_redis
    client.config_set("maxmemory-policy", "volatile-lru")
    statuses, received = flood(f"redis://127.0.0.1:{port}/0", f"redis://127.0.0.1:{port}/1")
    assert statuses == {200}
    assert received == ["waiting before the flood", "queued after the flood"]
    assert int(client.info("stats")["evicted_keys"]) > 0  # the cache was full indeed


@pytest.mark.django_db
def test_pages_cache_of_its_own_refusing_writes_still_serves_pages(small_redis, redis_url, caplog):
    """The pages on an instance of their own, here even with noeviction: once it is
    full its writes are refused (OOM), pages are served all the same, only not stored,
    and the broker, elsewhere, never notices."""
    port, client = small_redis
    client.config_set("maxmemory-policy", "noeviction")
    statuses, received = flood(redis_url, f"redis://127.0.0.1:{port}/0")
    assert statuses == {200}
    assert received == ["waiting before the flood", "queued after the flood"]
    assert "Page not cached" in caplog.text and "OutOfMemoryError" in caplog.text
