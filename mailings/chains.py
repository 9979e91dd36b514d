"""How fast the outbox drains: the batch chains and the sending rate.

Each of MAIL_PARALLEL_BATCHES chains is a batch task that queues the next one while work
remains; the cache remembers each chain's token and last beat, so that the tick restarts a
chain whose queue message was lost. With MAIL_SEND_RATE, a token bucket shared through the
cache keeps every worker together under the rate. Neither decides what is sent: the
exactly-once protocol is in `outbox.py`.
"""

import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# One key per batch chain (MAIL_PARALLEL_BATCHES of them): (token, last beat).
CHAIN_KEY = "mailings:outbox:chain:{}"


def outbox_wake(batches: int | None = None) -> None:
    """Start MAIL_PARALLEL_BATCHES chains of batch tasks (each re-queues itself while work
    remains). A chain found running under an older token stops at its next batch."""
    for slot in range(batches or settings.MAIL_PARALLEL_BATCHES):
        _chain_start(slot)


def _chain_start(slot: int) -> None:
    from .tasks import send_batch

    token = uuid.uuid4().hex
    cache.set(CHAIN_KEY.format(slot), (token, time.time()), timeout=None)
    send_batch.delay(slot, token)


def chain_beat(slot: int | None, token: str | None) -> bool:
    """A chain's batch says it is alive; false when its slot belongs to a newer chain.
    The cache being down never stops a chain."""
    if slot is None:
        return True
    key = CHAIN_KEY.format(slot)
    try:
        current = cache.get(key)
        if current is not None and current[0] != token:
            return False
        cache.set(key, (token, time.time()), timeout=None)
    except Exception:  # Redis down: keep sending, the database is the truth
        logger.warning("chain beat failed", exc_info=True)
    return True


def chains_requeue() -> int:
    """Restart the chains that have not beaten for MAIL_REQUEUE_AFTER (their queue message
    lost with a killed worker or an emptied Redis). Returns how many were restarted."""
    slots = range(settings.MAIL_PARALLEL_BATCHES)
    beats = cache.get_many([CHAIN_KEY.format(slot) for slot in slots])
    horizon = time.time() - settings.MAIL_REQUEUE_AFTER
    dead = [
        slot
        for slot in slots
        if (beat := beats.get(CHAIN_KEY.format(slot))) is None or beat[1] < horizon
    ]
    for slot in dead:
        _chain_start(slot)
    return len(dead)


def claim_size(size: int) -> int:
    """With a sending rate, claim no more than the chains can send within half a lease."""
    rate = settings.MAIL_SEND_RATE
    if not rate:
        return size
    share = rate / max(1, settings.MAIL_PARALLEL_BATCHES)
    return max(1, min(size, int(share * settings.MAIL_LEASE_SECONDS / 2)))


def chunk_size() -> int:
    size = settings.MAIL_CHUNK_SIZE
    if settings.MAIL_SEND_RATE:
        size = max(1, min(size, int(settings.MAIL_SEND_RATE)))
    return size


def throttle(count: int, *, keep=None) -> None:
    """A token bucket per email backend shared by every worker through the cache (Redis
    in production): at most MAIL_SEND_RATE messages per second. While Redis is down (a
    few quick retries first), each chain keeps to its share of the rate on its own."""
    rate = settings.MAIL_SEND_RATE
    if not rate:
        return
    failures = 0
    while True:
        now = time.time()
        key = f"mailings:rate:{settings.EMAIL_BACKEND}:{int(now)}"
        try:
            cache.add(key, 0, timeout=10)
            used = cache.incr(key, count)
        except ValueError:  # the key expired between add and incr
            continue
        except Exception:  # the cache is unreachable
            failures += 1
            if failures < 3:
                time.sleep(0.2 * failures)
                continue
            logger.warning("sending rate: cache unreachable, keeping to a local share")
            time.sleep(count * max(1, settings.MAIL_PARALLEL_BATCHES) / rate)
            return
        if used <= rate or used == count:
            return
        if keep is not None:
            keep()
        time.sleep(max(0.0, int(now) + 1 - now))
