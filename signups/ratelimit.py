"""Rate limits of the public forms: fixed-window counters per client IP and per
address, in the default cache (Redis in production, shared by every web process).

One implementation: on Redis every counter of a request moves in one call (a Lua
script); any other cache backend goes through Django's cache API, with the same
keys and windows.
"""

import ipaddress
import logging
from functools import lru_cache

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.commands.core import Script

from .models import email_hash

logger = logging.getLogger(__name__)


def redis_client():
    """A redis-py client on the default cache's server, or None when the cache is not
    Redis: one per process (redis-py clients are thread-safe and reconnect after a
    fork). Django's cache builds a new `redis.Redis` object for every call, which
    costs more than the round trip, and keeps its own private."""
    if not isinstance(caches["default"], RedisCache):
        return None
    config = settings.CACHES["default"]
    location = config["LOCATION"]
    servers = location.split(",") if isinstance(location, str) else list(location)
    options = {
        name: value
        for name, value in (config.get("OPTIONS") or {}).items()
        if name not in ("parser_class", "pool_class", "serializer")
    }
    return _client(servers[0], tuple(sorted(options.items())))  # Django writes to the first


@lru_cache(maxsize=8)
def _client(url: str, options: tuple) -> redis.Redis:
    return redis.Redis.from_url(url, **dict(options))


# For each key: count this request, start the window on the first one, and say how
# long the window still runs. EVALSHA, and EVAL once per Redis server (redis-py loads
# the script on NOSCRIPT).
_COUNT_SCRIPT = Script(
    None,  # no client bound: each call passes the thread's own
    b"""
    local result = {}
    for i, key in ipairs(KEYS) do
        local count = redis.call('INCR', key)
        redis.call('EXPIRE', key, ARGV[i], 'NX')
        result[2 * i - 1] = count
        result[2 * i] = redis.call('TTL', key)
    end
    return result
    """,
)


def _count(hits: list[tuple[str, int]]) -> list[tuple[int, int]]:
    """Count one request in each fixed window (key, seconds): (count, seconds left)."""
    backend = caches["default"]
    client = redis_client()
    if client is not None:
        flat = _COUNT_SCRIPT(
            keys=[backend.make_and_validate_key(key) for key, _window in hits],
            args=[window for _key, window in hits],
            client=client,
        )
        return [(flat[i], max(flat[i + 1], 1)) for i in range(0, len(flat), 2)]
    counts = []
    for key, window in hits:
        backend.add(key, 0, timeout=window)
        try:
            counts.append((backend.incr(key), window))
        except ValueError:  # expired between add and incr
            backend.set(key, 1, timeout=window)
            counts.append((1, window))
    return counts


def retry_after(*, ip: str | None, email: str) -> int:
    """Count a form submission; 0 when it may go on, otherwise the seconds to wait
    before the exceeded window ends (the `Retry-After` of the 429)."""
    ip_limit, ip_window = settings.SIGNUPS_RATE_PER_IP
    address_limit, address_window = settings.SIGNUPS_RATE_PER_ADDRESS
    try:
        (by_ip, ip_left), (by_address, address_left) = _count(
            [
                (f"signups:rate:ip:{ip}", ip_window),
                (f"signups:rate:email:{email_hash(email)}", address_window),
            ]
        )
    except Exception:
        # The cache is down: take the submission rather than lose it; emails stay
        # limited to one per address per 24 hours by the database.
        logger.warning("rate limits unavailable", exc_info=True)
        return 0
    waits = [ip_left] if by_ip > ip_limit else []
    if by_address > address_limit:
        waits.append(address_left)
    return max(waits, default=0)


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The visitor's IP, for rate limits and consent evidence.

    Behind `SIGNUPS_TRUSTED_PROXIES` reverse proxies of our own, each appending the
    address it received the request from to `SIGNUPS_CLIENT_IP_HEADER`
    (X-Forwarded-For), the client is the entry the outermost of them added: the
    N-th from the right. Entries further left are whatever the client sent, never
    trusted. Anything that is not an IP address falls back to REMOTE_ADDR.
    """
    proxies = settings.SIGNUPS_TRUSTED_PROXIES
    if proxies > 0:
        entries = (request.META.get(settings.SIGNUPS_CLIENT_IP_HEADER) or "").split(",")
        if len(entries) >= proxies:
            ip = _valid_ip(entries[-proxies])
            if ip:
                return ip
    return _valid_ip(request.META.get("REMOTE_ADDR"))
