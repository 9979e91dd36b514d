"""Whole-page cache for the reading site.

Keys carry a version that every article/comment save bumps (see `signals.py`), and
a cached page never outlives the next scheduled publication, so an article whose
time has come appears without anyone touching it. The CSRF token of the signup
forms is swapped in per request: a cached page never hands out someone else's token.
"""

import functools
import hashlib
import re

from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import get_language

from .services import cache_version

PAGE_SECONDS = 600
CSRF_MARKER = b"__POULS_CSRF_TOKEN__"


def cached_page(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if (
            request.method not in ("GET", "HEAD")
            or "messages" in request.COOKIES
            or ("sessionid" in request.COOKIES and request.user.is_authenticated)
        ):
            return view(request, *args, **kwargs)
        version = cache_version()
        digest = hashlib.md5(request.get_full_path().encode(), usedforsecurity=False).hexdigest()
        key = f"articles:page:{version}:{get_language()}:{digest}"
        hit = cache.get(key)
        if hit is not None:
            status, content_type, content, headers = hit
            response = HttpResponse(
                content.replace(CSRF_MARKER, get_token(request).encode())
                if CSRF_MARKER in content
                else content,
                status=status,
                content_type=content_type,
            )
            for name, value in headers:
                response[name] = value
            response["X-Page-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if (
            response.status_code in (200, 301, 404)
            and not response.cookies.get("sessionid")
            and not getattr(response, "streaming", False)
        ):
            if hasattr(response, "render") and callable(response.render):
                response.render()
            content = response.content
            headers = [(n, v) for n, v in response.items() if n in ("Location", "Content-Language")]
            stored = _strip_tokens(request, content)
            cache.set(
                key,
                (response.status_code, response["Content-Type"], stored, headers),
                PAGE_SECONDS,
            )
            response["X-Page-Cache"] = "miss"
        return response

    return wrapper


_TOKEN_INPUT = re.compile(rb'(<input type="hidden" name="csrfmiddlewaretoken" value=")[^"]*(")')


def _strip_tokens(request, content: bytes) -> bytes:
    """Replace the masked CSRF tokens rendered in this page by a marker."""
    return _TOKEN_INPUT.sub(rb"\1" + CSRF_MARKER + rb"\2", content)
