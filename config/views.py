import os
import time

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .tasks import HEARTBEAT_KEY


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _check_broker() -> str:
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        try:
            client.ping()
        finally:
            client.close()
        return "redis"
    folder = settings.BROKER_DIR / "in"
    if not (folder.is_dir() and os.access(folder, os.W_OK)):
        raise OSError(f"{folder} is not a writable folder")
    return "filesystem"


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker answer, 503 otherwise.

    The age of beat's last tick is reported for monitoring but does not fail the
    check: web servers stay in rotation while beat restarts.
    """
    checks, healthy = {}, True
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            checks[name] = {"ok": True, "backend": check()}
        except Exception as exc:
            healthy = False
            checks[name] = {"ok": False, "error": exc.__class__.__name__}
    try:
        last_tick = cache.get(HEARTBEAT_KEY.format("tick"))
    except Exception:
        last_tick = None
    checks["beat"] = {
        "last_tick_seconds_ago": round(time.time() - last_tick, 1) if last_tick else None
    }
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def admin_locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout answer: a French page, 429, saying for how long."""
    from django.shortcuts import render

    cooloff = settings.AXES_COOLOFF_TIME
    response = render(
        request,
        "admin/locked_out.html",
        {
            "title": _("Connexion bloquée"),
            "minutes": int(cooloff.total_seconds() // 60) if cooloff else None,
            "site_header": admin.site.site_header,
            "site_title": admin.site.site_title,
        },
        status=429,
    )
    if cooloff:
        response["Retry-After"] = str(int(cooloff.total_seconds()))
    return response
