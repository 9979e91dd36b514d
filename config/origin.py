"""Cross-site protection for the public forms without a per-visitor token.

The forms every reader sees on cached pages (signup, application, language switcher)
carry no CSRF token, so that a cached page is the same bytes for everyone. A POST to
them is accepted only when the browser says it comes from this site, or from an origin
listed in POULS_FORM_ORIGINS (a site embedding the signup form): its `Origin` header,
or failing that its `Referer`, must name one of them. Browsers send `Origin` with every
cross-site POST; over HTTPS a POST naming neither is refused too, as Django's CSRF check
does. A refusal is Django's own CSRF failure page (French, 403), as a missing token was.

The admin and every form for a signed-in person keep Django's CSRF token unchanged.
"""

from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.middleware.csrf import REASON_NO_REFERER
from django.urls import get_callable
from django.views.decorators.csrf import csrf_exempt


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def allowed_origins(request) -> set[str]:
    own = f"{request.scheme}://{request.get_host()}".lower()
    return {
        own,
        _origin(settings.SITE_URL),
        *(_origin(origin) for origin in settings.CSRF_TRUSTED_ORIGINS),
        *(_origin(origin) for origin in settings.POULS_FORM_ORIGINS),
    } - {""}


def origin_refusal(request) -> str | None:
    """Why this POST does not come from an allowed origin; None when it does."""
    origin = request.headers.get("Origin")
    if origin is not None:
        if _origin(origin) not in allowed_origins(request):
            return f"Origin checking failed - {origin} does not match any trusted origins."
        return None
    referer = request.headers.get("Referer")
    if referer:
        if _origin(referer) not in allowed_origins(request):
            return "Referer checking failed - the page does not match any trusted origins."
        return None
    return REASON_NO_REFERER if request.is_secure() else None


def origin_checked(view):
    """Let a POST through without a CSRF token only from an allowed origin."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            reason = origin_refusal(request)
            if reason:
                return get_callable(settings.CSRF_FAILURE_VIEW)(request, reason=reason)
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapper)
