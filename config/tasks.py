"""Periodic entry points and the worker probe.

Beat sends `pouls.tick` every 15 seconds and `pouls.daily` once a day; each runs
the handlers that the apps list in settings (`TICK_HANDLERS`, `DAILY_HANDLERS`),
so there is one declared schedule and each app keeps its own logic.
"""

import logging
import time

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "pouls:heartbeat:{}"


def _run_handlers(paths: list[str], kind: str) -> None:
    cache.set(HEARTBEAT_KEY.format(kind), time.time(), timeout=None)
    for path in paths:
        try:
            import_string(path)()
        except Exception:
            # One failing handler must not starve the others; the next tick retries.
            logger.exception("%s handler %s failed", kind, path)


@shared_task(name="pouls.tick", ignore_result=True, time_limit=60, soft_time_limit=50)
def tick() -> None:
    _run_handlers(settings.TICK_HANDLERS, "tick")


@shared_task(name="pouls.daily", ignore_result=True, time_limit=3600, soft_time_limit=3500)
def daily() -> None:
    _run_handlers(getattr(settings, "DAILY_HANDLERS", []), "daily")


@shared_task(name="pouls.ping", ignore_result=True, time_limit=10, soft_time_limit=8)
def ping(token: str) -> None:
    """Proves a worker round-trip: the sender waits for this cache key."""
    cache.set(f"pouls:ping:{token}", time.time(), timeout=3600)
