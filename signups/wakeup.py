"""The reply sender's wake-up: after a signup commits, make sure a run of
`send_signup_emails` will read it, with as few publishes and Redis calls as a busy
second allows.

- One key in the default cache says a wake-up is waiting; its value is the moment
  (Unix time, in milliseconds) the task starts, REPLY_GATHER_SECONDS after the signup
  that queued it. The task deletes the key as it starts (`reply_wakeup_clear`), then
  reads every signup committed before: a signup that finds the key has been seen.
- A process that saw a wake-up waiting remembers its start and asks nothing more
  until REPLY_WAKEUP_MARGIN before it: its signups meanwhile commit before the task
  starts. The margin covers the clocks of the web and worker hosts disagreeing;
  beyond it, or when a message is lost (the key then expires after
  REPLY_WAKEUP_SECONDS), the tick answers within 15 s.
- With tasks run in-process (CELERY_TASK_ALWAYS_EAGER), the task runs at once and
  nothing is remembered.
"""

import logging
import time

from django.core.cache import cache
from redis.commands.core import Script

from .ratelimit import redis_client

logger = logging.getLogger(__name__)

REPLY_WAKEUP_KEY = "signups:replies:wakeup"
REPLY_WAKEUP_SECONDS = 5  # a lost task leaves the key: it expires
# A wake-up runs this long after the first signup that queued it: the signups of that
# second share one run (one claim, one connection) instead of one run each.
REPLY_GATHER_SECONDS = 1
REPLY_WAKEUP_MARGIN = 0.25  # seconds: how far the hosts' clocks may disagree

# The waiting wake-up's start, or this one's if none was waiting (then nil: queue it).
_TAKE_SCRIPT = Script(
    None,
    b"""
    local waiting = redis.call('GET', KEYS[1])
    if waiting then return waiting end
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
    return false
    """,
)

_quiet_until = 0.0  # this process knows a wake-up is waiting until then (Unix time)


def reply_sender_wake() -> None:
    """Queue one wake-up for the reply sender unless one is already waiting. Called
    after commit; never raises (a signup is saved whatever happens here)."""
    global _quiet_until
    from config.celery_app import app

    from .tasks import send_signup_emails

    now = time.time()
    eager = app.conf.task_always_eager
    if now < _quiet_until and not eager:
        return
    start = int((now + REPLY_GATHER_SECONDS) * 1000)
    try:
        waiting = _take(start)
        if waiting is None:
            send_signup_emails.apply_async(countdown=REPLY_GATHER_SECONDS)
            waiting = start
    except Exception:
        # Redis down: the signup is saved; the next tick that runs sends its email.
        logger.warning("could not queue the signup reply wake-up", exc_info=True)
        return
    if not eager:
        _quiet_until = waiting / 1000 - REPLY_WAKEUP_MARGIN


def _take(start: int) -> int | None:
    """Take the key for a wake-up starting at `start`: None if taken, else the start
    of the one already waiting."""
    client = redis_client()
    if client is None:
        if cache.add(REPLY_WAKEUP_KEY, start, timeout=REPLY_WAKEUP_SECONDS):
            return None
        waiting = cache.get(REPLY_WAKEUP_KEY)
    else:  # one round trip, the same key and value as Django's cache API
        key = cache.make_and_validate_key(REPLY_WAKEUP_KEY)
        waiting = _TAKE_SCRIPT(keys=[key], args=[start, REPLY_WAKEUP_SECONDS], client=client)
        if waiting is None:
            return None
    try:
        return int(waiting)
    except (TypeError, ValueError):  # gone meanwhile, or not ours: nothing to wait for
        return 0


def reply_wakeup_clear() -> None:
    """The task's first step: from now on a signup queues the next run."""
    try:
        cache.delete(REPLY_WAKEUP_KEY)
    except Exception:
        logger.warning("could not clear the signup reply wake-up", exc_info=True)


def reply_wakeup_forget() -> None:
    """Forget the wake-up this process saw waiting (a purged queue, a new test)."""
    global _quiet_until
    _quiet_until = 0.0
