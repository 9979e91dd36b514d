"""Gunicorn settings for Pouls; every value can be overridden from the environment."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Processes rather than threads: in a busy process a thread waits for the GIL after each
# database or Redis round trip. gunicorn's own starting point, 2 × cores + 1 workers, of
# one thread each (the sync worker: the reverse proxy in front buffers slow clients);
# with GUNICORN_THREADS above 1 gunicorn uses its threaded worker.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Each worker is replaced after this many requests (0: never), against slow leaks.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# Behind a reverse proxy: trust its X-Forwarded-* headers (set FORWARDED_ALLOW_IPS).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def when_ready(server):
    """Once per start, in the master: say which ESP webhooks answer, or why none does."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from mailings.webhooks import webhooks_state

    server.log.info(webhooks_state())


def post_worker_init(worker):
    """Streamed exports check in as they go (config/heartbeat.py): the sync worker would
    otherwise be killed after `timeout` seconds in the middle of a long one."""
    from config import heartbeat

    heartbeat.install(worker.notify)
