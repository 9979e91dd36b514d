"""Periodic entry points and the worker probe.

Beat sends `pouls.tick` every 15 seconds and `pouls.daily` once a day (the one
schedule, in `config/celery_app.py`). Each runs the handlers that the apps declare
on their AppConfig (`tick_handlers`, `daily_handlers`: dotted paths of functions
taking no argument), so each app keeps its own logic.
"""

import logging
import time

from celery import shared_task
from django.apps import apps
from django.core.cache import cache
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "pouls:heartbeat:{}"


def handlers(kind: str) -> list[str]:
    return [
        path
        for app_config in apps.get_app_configs()
        for path in getattr(app_config, f"{kind}_handlers", ())
    ]


def _run_handlers(kind: str) -> None:
    cache.set(HEARTBEAT_KEY.format(kind), time.time(), timeout=None)
    for path in handlers(kind):
        try:
            import_string(path)()
        except Exception:
            # One failing handler must not starve the others; the next tick retries.
            logger.exception("%s handler %s failed", kind, path)


@shared_task(name="pouls.tick", ignore_result=True, time_limit=60, soft_time_limit=50)
def tick() -> None:
    _run_handlers("tick")


@shared_task(name="pouls.daily", ignore_result=True, time_limit=3600, soft_time_limit=3500)
def daily() -> None:
    _run_handlers("daily")


@shared_task(name="pouls.ping", ignore_result=True, time_limit=10, soft_time_limit=8)
def ping(token: str) -> None:
    """Proves a worker round-trip: the sender waits for this cache key."""
    cache.set(f"pouls:ping:{token}", time.time(), timeout=3600)
