"""Whole-page cache for the reading site, in two tiers.

Every cached page key carries a *version*, held in the shared cache (Redis in
production) together with the time the next scheduled article goes live. Saving an
article or a comment moves the version on (`signals.py`), and so does the moment a
scheduled article's time comes: nobody has to touch anything for it to appear.

In front of Redis, each web process keeps the pages it served recently and the
version it last read, which it re-reads at most every VERSION_TTL seconds: a cache
hit then costs no network round trip. Another process's save therefore shows after
at most VERSION_TTL seconds; a save in this process shows at once. Those pages are
served by `CachedPagesMiddleware`, last in MIDDLEWARE, before the URL is resolved
(the articles catch-all comes last in the URLconf: resolving `/` walked every other
app's routes first); the other tiers are read by the `cached_page` view decorator.

A page's key names only the query parameters its view reads (`cached_page(reads=...)`,
page numbers normalised as the paginator reads them, other values by the view's own
`normalise` functions, e.g. `?reponse=` only when it names a comment shown on that
page): `?x=<random>` or `?reponse=<garbage>` is the same page, never one more copy. The pages live in their own cache (`caches["pages"]`, CACHE_URL),
meant for an evicting Redis, apart from the broker and the counters.

Parts shared by many pages (the invitations aside of every article) are rendered once
per version and language in each process (`fragment`), so a page that is not cached
does not render them again.

Pages are plain bytes, the same for every visitor: the public forms they hold carry no
CSRF token (config/origin.py checks where their POSTs come from instead). A page that
holds a token anyway (a form someone added with {% csrf_token %}) is never stored: it
would hand one visitor's token to everyone.
"""

import contextlib
import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from django.utils.connection import ConnectionProxy
from django.utils.translation import get_language

# Every read and write of this module goes to the pages cache (see config/settings.py).
cache = ConnectionProxy(caches, "pages")

PAGE_SECONDS = 600
VERSION_TTL = 1.0
LOCAL_PAGES = 200
STATE_KEY = "articles:pages:state"
NEXT_KEY = "articles:pages:next:{}"
# Version, language, digest of the path and the parameters the view reads; "p4": pages
# stored whole (no CSRF token), keyed on those parameters only.
PAGE_KEY = "articles:page:p4:{}:{}:{}"
# Page numbers, read by Paginator.get_page (`page`) and the sitemap (`p`).
PAGE_NUMBER_PARAMS = frozenset({"page", "p"})
# What a CSRF token input looks like ({% csrf_token %}): such a page is never stored.
_TOKEN_INPUT = b'name="csrfmiddlewaretoken"'
_MESSAGES_COOKIE = "messages"  # django.contrib.messages' CookieStorage

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_memo: dict = {"state": None, "read_at": 0.0}
_pages: OrderedDict = OrderedDict()
_fragments: dict = {}
# Every parameter some cached view reads: what CachedPagesMiddleware keys on.
_read_params: set = set()


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
        _fragments.clear()
    return version


def forget_local() -> None:
    """Drop this process's copies (tests clear the shared cache between cases)."""
    with _lock:
        _memo.update(state=None, read_at=0.0)
        _pages.clear()
        _fragments.clear()


def fragment(name: str, render) -> str:
    """`render()`, kept in this process for the current version of the pages and the
    active language: for parts of pages that depend on nothing else (no request, no
    visitor), such as the invitations aside. A save that moves the version on, in any
    process, makes it render again."""
    key = (cache_version(), get_language(), name)
    html = _fragments.get(key)
    if html is None:
        html = render()
        with _lock:
            if len(_fragments) >= 32:  # older versions' copies
                _fragments.clear()
            _fragments[key] = html
    return html


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


def _get(local_key, key):
    page = _pages.get(local_key)
    if page is None:
        page = cache.get(key)
        if page is not None:
            _remember(local_key, page)
    return page


def _remember(key, page):
    with _lock:
        _pages[key] = page
        _pages.move_to_end(key)
        while len(_pages) > LOCAL_PAGES:
            _pages.popitem(last=False)


def _cacheable(request) -> bool:
    """Anonymous GET/HEAD without a pending message: the pages everybody sees alike."""
    cookies = request.COOKIES
    return (
        request.method in ("GET", "HEAD")
        and _MESSAGES_COOKIE not in cookies
        and not (settings.SESSION_COOKIE_NAME in cookies and request.user.is_authenticated)
    )


def _respond(page, request) -> HttpResponse:
    status, content_type, content, headers = page
    response = HttpResponse(content, status=status, content_type=content_type)
    for name, value in headers:
        response.headers[name] = value
    response.headers["X-Page-Cache"] = "hit"
    return response


def _params(request, names, normalise=None, view_kwargs=None) -> tuple:
    """The values of the parameters a view reads, as it reads them (the last value):
    every other parameter is ignored. A page number is an integer as `int()` reads it
    (`?page=007` is page 7); anything else is absent, as the paginator's page 1 is.
    `normalise` maps a parameter to a function (value, view kwargs) -> the value the
    view would act on, or None when it would ignore it (then it is absent here too)."""
    found = []
    for name in sorted(names):
        value = request.GET.get(name)
        if value is not None and name in PAGE_NUMBER_PARAMS:
            try:
                value = str(int(value))
            except ValueError:
                value = None
        if value is not None and normalise and name in normalise:
            value = normalise[name](value, view_kwargs or {})
        if value is not None:
            found.append((name, value))
    return tuple(found)


def served_from_memory(request) -> HttpResponse | None:
    """This process's copy of the page asked for, if it has one (no network, no URL
    resolution): see `CachedPagesMiddleware`. The view is not known yet, so the key
    takes every parameter some cached view reads: a page whose view reads fewer is
    found when the request has none of the others, and by its view otherwise."""
    if not _pages or not _cacheable(request):
        return None
    page = _pages.get(
        (cache_version(), get_language(), request.path, _params(request, _read_params))
    )
    return None if page is None else _respond(page, request)


def _store(key, page) -> None:
    """A page the shared cache cannot take (full, unreachable) is served all the same."""
    try:
        cache.set(key, page, PAGE_SECONDS)
    except Exception:  # redis-py, the file system: any cache failure
        logger.warning("Page not cached: the pages cache refused it.", exc_info=True)


def cached_page(view=None, *, reads: tuple[str, ...] = (), normalise=None):
    """Serve the view's anonymous GET answers from the page cache.

    `reads`: the query parameters the view reads; the key holds only these.
    `normalise`: {parameter: function(value, view kwargs) -> str | None}, the value as
    the view acts on it, None for a value it ignores (the page is then the one without
    the parameter: unknown or garbage values never store another copy)."""
    if view is None:
        return functools.partial(cached_page, reads=reads, normalise=normalise)
    names = frozenset(reads)
    _read_params.update(names)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        version, language = cache_version(), get_language()
        params = _params(request, names, normalise, kwargs)
        local_key = (version, language, request.path, params)
        # The address the page may print (base.html's language switcher): only what the
        # key holds, never a parameter that the next visitor did not send.
        request.page_path = request.path + (f"?{urlencode(params)}" if params else "")
        digest = hashlib.md5(  # a cache key, not security
            repr((request.path, params)).encode(), usedforsecurity=False
        ).hexdigest()
        key = PAGE_KEY.format(version, language, digest)
        hit = _get(local_key, key)
        if hit is not None:
            return _respond(hit, request)
        response = view(request, *args, **kwargs)
        if (
            response.status_code in (200, 301)
            and not getattr(response, "streaming", False)
            and "no-store" not in response.get("Cache-Control", "")
        ):
            if callable(getattr(response, "render", None)):
                response.render()
            if _TOKEN_INPUT in response.content:
                logger.warning("Page not cached: it holds a CSRF token (%s).", request.path)
                return response
            headers = [(n, v) for n, v in response.items() if n in ("Location", "Content-Language")]
            page = (response.status_code, response["Content-Type"], response.content, headers)
            _store(key, page)
            _remember(local_key, page)
            response["X-Page-Cache"] = "miss"
        return response

    return wrapper


class CachedPagesMiddleware:
    """Serves the pages this process holds before the URL is even resolved.

    Last in MIDDLEWARE: every other middleware (security headers, CSP, locale,
    clickjacking) still handles the request and the response; only the URL resolution
    and the view are skipped. Pages it does not hold go on to the view, whose
    `cached_page` decorator looks in the shared cache and fills this process's copy.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = served_from_memory(request)
        return self.get_response(request) if response is None else response
