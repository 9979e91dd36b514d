"""A worker loads the sending path before its pool forks: the children share it instead
of each building its own copy at its first batch. Loading it reads and sends nothing."""

import logging
from unittest import mock

import pytest
from celery import signals
from django.core import mail

import config.celery_app  # noqa: F401 — connects its receivers
from config.tasks import handlers
from mailings import preload


def test_mailings_declares_its_sending_path_for_the_worker_to_load():
    assert "mailings.preload.sending_path_load" in handlers("worker_preload")


def _worker_init():
    """What a worker's main process sends once, before it creates the pool; from a worker
    of another app, so that Celery's Django fix-up leaves this test process alone."""
    signals.worker_init.send(sender=_AnotherAppsWorker())


class _AnotherAppsWorker:
    app = object()


def test_the_worker_loads_each_app_s_preload_before_its_pool_forks():
    with mock.patch.object(preload, "sending_path_load") as load:
        _worker_init()
    load.assert_called_once_with()


def test_a_failing_preload_leaves_the_worker_starting(caplog):
    broken = mock.patch.object(preload, "sending_path_load", side_effect=RuntimeError("boom"))
    with broken, caplog.at_level(logging.WARNING, logger="config.celery_app"):
        _worker_init()
    assert "mailings.preload.sending_path_load" in caplog.text
    assert "boom" in caplog.text


@pytest.mark.django_db
def test_loading_the_sending_path_reads_and_sends_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        preload.sending_path_load()
    assert mail.outbox == []
