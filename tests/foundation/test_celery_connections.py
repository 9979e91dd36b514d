"""Worker processes keep their PostgreSQL connection from one task to the next, as web
processes do between requests (CONN_MAX_AGE, CONN_HEALTH_CHECKS), instead of Celery's
default of a new connection (a new server process, cold caches) around every task."""

import time

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from config import celery_app
from config.tasks import ping

pytestmark = pytest.mark.django_db(transaction=True)


def run_task_signals(fixup):
    """What a worker does around a task: Celery's Django fix-up, then every receiver."""
    fixup.on_task_prerun(sender=ping)
    signals.task_prerun.send(sender=ping, task_id="t", task=ping, args=(), kwargs={})
    fixup.on_task_postrun(sender=ping)
    signals.task_postrun.send(sender=ping, task_id="t", task=ping, args=(), kwargs={})


def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_worker_keeps_its_connection_between_tasks_until_it_is_obsolete(postgres):
    fixup = DjangoWorkerFixup(celery_app)
    first = backend_pid()
    run_task_signals(fixup)
    run_task_signals(fixup)
    assert backend_pid() == first

    connection.close_at = time.monotonic() - 1  # older than CONN_MAX_AGE
    run_task_signals(fixup)
    assert backend_pid() != first


def test_without_the_reuse_setting_celery_would_reconnect_for_every_task(postgres):
    fixup = DjangoWorkerFixup(celery_app)
    fixup.db_reuse_max = None  # Celery's default
    first = backend_pid()
    run_task_signals(fixup)
    assert backend_pid() != first
