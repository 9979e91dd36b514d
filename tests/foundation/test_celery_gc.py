"""What a worker has loaded before its pool forks is frozen out of the cyclic garbage
collector's walks, in every child the pool creates."""

import gc

import pytest
from celery import signals

import config.celery_app  # noqa: F401 — connects its receivers


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_pool_freezes_what_is_loaded_before_it_forks_a_child(unfrozen):
    loaded = {"settings": ["what the worker loaded at start"]}
    assert gc.get_freeze_count() == 0 and gc.is_tracked(loaded)

    # What the prefork pool sends just before it creates each child process.
    signals.worker_before_create_process.send(sender=None)

    assert gc.get_freeze_count() > 0
    assert not any(obj is loaded for obj in gc.get_objects())  # beyond the walks
    made_later = {"payload": ["built by a task"]}
    assert any(obj is made_later for obj in gc.get_objects())  # a task's objects are not
