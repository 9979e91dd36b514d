"""Whole-page cache for the reading site, in two tiers.

Every cached page key carries a *version*, held in the shared cache (Redis in
production) together with the time the next scheduled article goes live. Saving an
article or a comment moves the version on (`signals.py`), and so does the moment a
scheduled article's time comes: nobody has to touch anything for it to appear.

In front of Redis, each web process keeps the pages it served recently and the
version it last read, which it re-reads at most every VERSION_TTL seconds: a cache
hit then costs no network round trip. Another process's save therefore shows after
at most VERSION_TTL seconds; a save in this process shows at once.

The CSRF token of the signup forms is swapped in per request: a cached page never
hands out someone else's token.
"""

import contextlib
import functools
import hashlib
import re
import secrets
import threading
import time
from collections import OrderedDict

from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.utils.translation import get_language

PAGE_SECONDS = 600
VERSION_TTL = 1.0
LOCAL_PAGES = 200
STATE_KEY = "articles:pages:state"
NEXT_KEY = "articles:pages:next:{}"
CSRF_MARKER = b"__POULS_CSRF_TOKEN__"
_TOKEN_INPUT = re.compile(rb'(<input type="hidden" name="csrfmiddlewaretoken" value=")[^"]*(")')

_lock = threading.Lock()
_memo: dict = {"state": None, "read_at": 0.0}
_pages: OrderedDict = OrderedDict()


def _next_publication() -> float:
    from .models import Article

    upcoming = (
        Article.objects.scheduled()
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )
    return upcoming.timestamp() if upcoming else 0.0


_deferred = threading.local()


@contextlib.contextmanager
def invalidation_deferred():
    """Many saves (an import), one invalidation at the end."""
    _deferred.depth = getattr(_deferred, "depth", 0) + 1
    try:
        yield
    finally:
        _deferred.depth -= 1
        if not _deferred.depth and getattr(_deferred, "pending", False):
            _deferred.pending = False
            pages_invalidate()


def pages_invalidate() -> str | None:
    """Every cached reading page is stale from now on (their keys carry the old version)."""
    if getattr(_deferred, "depth", 0):
        _deferred.pending = True
        return None
    return _new_version()


def _new_version() -> str:
    version = str(time.time_ns())
    cache.set(STATE_KEY, version, timeout=None)
    with _lock:
        # "next" (the next scheduled publication) is computed by the next reader.
        _memo.update(state={"version": version, "next": None}, read_at=time.time())
        _pages.clear()
    return version


def forget_local() -> None:
    """Drop this process's copies (tests clear the shared cache between cases)."""
    with _lock:
        _memo.update(state=None, read_at=0.0)
        _pages.clear()


def cache_version() -> str:
    now = time.time()
    state = _memo["state"]
    if state is None or now - _memo["read_at"] > VERSION_TTL or now < _memo["read_at"]:
        version = cache.get(STATE_KEY)
        if version is None:
            return _new_version()
        state = {"version": version, "next": cache.get(NEXT_KEY.format(version))}
        with _lock:
            _memo.update(state=state, read_at=now)
    if state["next"] is None:
        # Stored under its own key, tied to the version: writing it can never bring
        # back an older version that another process has just replaced.
        state = {**state, "next": _next_publication()}
        cache.set(NEXT_KEY.format(state["version"]), state["next"], timeout=86_400)
        with _lock:
            _memo.update(state=state)
    if state["next"] and now >= state["next"]:
        return _new_version()  # a scheduled article has just gone live
    return state["version"]


def _get(key):
    page = _pages.get(key)
    if page is None:
        page = cache.get(key)
        if page is not None:
            _remember(key, page)
    return page


def _remember(key, page):
    with _lock:
        _pages[key] = page
        _pages.move_to_end(key)
        while len(_pages) > LOCAL_PAGES:
            _pages.popitem(last=False)


_CHARS = CSRF_ALLOWED_CHARS
_INDEX = {char: index for index, char in enumerate(_CHARS)}
_LIMIT = 256 - 256 % len(_CHARS)  # bytes at or above it are dropped: no modulo bias


def _random_indexes(length: int) -> list[int]:
    """Unbiased random indexes into the CSRF alphabet, from one urandom read
    (get_random_string draws characters one by one: most of a cache hit's cost)."""
    out: list[int] = []
    while len(out) < length:
        out.extend(b % len(_CHARS) for b in secrets.token_bytes(length + 8) if b < _LIMIT)
    return out[:length]


def csrf_token(request) -> str:
    """The same masked token as `django.middleware.csrf.get_token`, made faster.

    Like get_token, it creates the visitor's secret when there is none and asks
    CsrfViewMiddleware to send the cookie (the request.META keys get_token uses)."""
    secret = request.META.get("CSRF_COOKIE")
    if not secret or len(secret) != CSRF_SECRET_LENGTH or not all(c in _INDEX for c in secret):
        secret = "".join(_CHARS[i] for i in _random_indexes(CSRF_SECRET_LENGTH))
        request.META["CSRF_COOKIE"] = secret
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = _random_indexes(CSRF_SECRET_LENGTH)
    size = len(_CHARS)
    return "".join(_CHARS[i] for i in mask) + "".join(
        _CHARS[(_INDEX[c] + m) % size] for c, m in zip(secret, mask, strict=True)
    )


def cached_page(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if (
            request.method not in ("GET", "HEAD")
            or "messages" in request.COOKIES
            or ("sessionid" in request.COOKIES and request.user.is_authenticated)
        ):
            return view(request, *args, **kwargs)
        digest = hashlib.md5(request.get_full_path().encode(), usedforsecurity=False).hexdigest()
        key = f"articles:page:{cache_version()}:{get_language()}:{digest}"
        hit = _get(key)
        if hit is not None:
            status, content_type, content, headers = hit
            if CSRF_MARKER in content:
                content = content.replace(CSRF_MARKER, csrf_token(request).encode())
            response = HttpResponse(content, status=status, content_type=content_type)
            for name, value in headers:
                response[name] = value
            response["X-Page-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code in (200, 301) and not getattr(response, "streaming", False):
            if callable(getattr(response, "render", None)):
                response.render()
            headers = [(n, v) for n, v in response.items() if n in ("Location", "Content-Language")]
            page = (
                response.status_code,
                response["Content-Type"],
                _TOKEN_INPUT.sub(rb"\1" + CSRF_MARKER + rb"\2", response.content),
                headers,
            )
            cache.set(key, page, PAGE_SECONDS)
            _remember(key, page)
            response["X-Page-Cache"] = "miss"
        return response

    return wrapper
