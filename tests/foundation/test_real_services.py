"""In CI the suite must run on the real services, never silently on the embedded ones."""

import pytest
from django.conf import settings
from django.core.cache import cache


@pytest.mark.django_db
def test_ci_runs_on_postgresql_and_redis(postgres, redis_url):
    with postgres.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert "PostgreSQL" in cursor.fetchone()[0]
    assert settings.CELERY_BROKER_URL == redis_url
    cache.set("pouls:probe", "ok")
    assert cache.get("pouls:probe") == "ok"
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]
