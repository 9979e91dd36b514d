"""A real `celery worker` process on the configured broker (Redis in CI)."""

import uuid

import pytest
from django.core.cache import cache
from django.db import transaction

from config.tasks import ping
from tests.helpers import start_worker, stop, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_task_queued_after_commit_runs_and_rolled_back_one_never_does(tmp_path):
    from config import celery_app

    celery_app.conf.task_always_eager = False
    committed, rolled_back, marker = (uuid.uuid4().hex for _ in range(3))

    with transaction.atomic():
        ping.delay_on_commit(committed)
    with pytest.raises(RuntimeError), transaction.atomic():
        ping.delay_on_commit(rolled_back)
        raise RuntimeError("rolled back")

    log = (tmp_path / "worker.log").open("w")
    worker = start_worker(log=log)
    try:
        wait_for(
            lambda: cache.get(f"pouls:ping:{committed}"),
            timeout=60,
            message="the committed task to run in the worker",
        )
        # The marker is queued last: once it has run, anything queued before it has too.
        ping.delay(marker)
        wait_for(lambda: cache.get(f"pouls:ping:{marker}"), timeout=30, message="marker")
        assert cache.get(f"pouls:ping:{rolled_back}") is None
    finally:
        stop(worker)
        log.close()


def test_tasks_are_routed_and_safe_to_redeliver():
    from config import celery_app

    conf = celery_app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.task_routes["mailings.*"] == {"queue": "mail"}
    assert conf.beat_schedule["tick"]["schedule"] == 15.0
    assert conf.task_time_limit and conf.task_soft_time_limit
