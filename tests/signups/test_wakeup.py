"""The reply sender's wake-up when tasks go to a real broker: one publish per busy
second, and a process that saw a wake-up waiting asks the cache nothing more until
shortly before that wake-up starts. The same on Redis and on the embedded cache."""

import time

import pytest
import time_machine
from django.core.cache import cache

from config import celery_app
from signups import tasks, wakeup

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    """Wake-ups published to the broker (as a web process does: not run in-process)."""
    celery_app.conf.task_always_eager = False  # set back by tests/conftest.py
    published = []
    monkeypatch.setattr(
        tasks.send_signup_emails, "apply_async", lambda **options: published.append(options)
    )
    cache.delete(wakeup.REPLY_WAKEUP_KEY)
    return published


def test_one_publish_then_no_cache_call_until_shortly_before_the_task_starts(queued):
    now = time.time()
    with time_machine.travel(now, tick=False):
        wakeup.reply_sender_wake()
        assert queued == [{"countdown": wakeup.REPLY_GATHER_SECONDS}]
        start = cache.get(wakeup.REPLY_WAKEUP_KEY)
        assert start == int((now + wakeup.REPLY_GATHER_SECONDS) * 1000)

        # Had the process asked the cache, it would have found the key gone and taken
        # it again: it does not ask, its signup commits before the task starts.
        cache.delete(wakeup.REPLY_WAKEUP_KEY)
        wakeup.reply_sender_wake()
        assert len(queued) == 1 and cache.get(wakeup.REPLY_WAKEUP_KEY) is None

    # Within the margin of the task's start, it asks again: the task has started
    # (it deleted the key), so this signup queues the next run.
    with time_machine.travel(start / 1000 - wakeup.REPLY_WAKEUP_MARGIN + 0.01, tick=False):
        wakeup.reply_sender_wake()
    assert len(queued) == 2


def test_a_wake_up_another_process_queued_is_waited_for(queued):
    now = time.time()
    theirs = int((now + 0.8) * 1000)
    cache.set(wakeup.REPLY_WAKEUP_KEY, theirs, timeout=wakeup.REPLY_WAKEUP_SECONDS)
    with time_machine.travel(now, tick=False):
        wakeup.reply_sender_wake()
        assert queued == [] and cache.get(wakeup.REPLY_WAKEUP_KEY) == theirs
        cache.delete(wakeup.REPLY_WAKEUP_KEY)
        wakeup.reply_sender_wake()  # remembered: not asked again before their start
        assert queued == []
    with time_machine.travel(theirs / 1000, tick=False):
        wakeup.reply_sender_wake()
    assert len(queued) == 1


def test_a_stale_key_of_a_lost_task_is_not_waited_for(queued):
    """A key whose start has passed (its message was lost) holds back publishes until
    it expires, as before; the process does not stop asking."""
    cache.set(wakeup.REPLY_WAKEUP_KEY, int((time.time() - 2) * 1000), timeout=3)
    wakeup.reply_sender_wake()
    assert queued == []
    cache.delete(wakeup.REPLY_WAKEUP_KEY)  # expired
    wakeup.reply_sender_wake()
    assert len(queued) == 1


def test_tasks_run_in_process_remember_nothing(monkeypatch):
    """With CELERY_TASK_ALWAYS_EAGER the run happens at once: every signup's wake-up
    finds the key free again and runs."""
    runs = []
    monkeypatch.setattr(tasks.send_signup_emails, "apply_async", lambda **o: runs.append(o))
    for _ in range(2):
        wakeup.reply_sender_wake()
        wakeup.reply_wakeup_clear()  # what the run does first
    assert len(runs) == 2
