"""The one way an address is made absolute: on SITE_URL, for emails, feeds, the
sitemap, canonical and OpenGraph links, whatever host a request came through."""

import re
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

ABSOLUTE_SCHEMES = ("http", "https", "mailto", "tel")


def absolute(url: str) -> str:
    """`url` made absolute on SITE_URL: a path (« /atelier/ ») follows SITE_URL, a
    relative link (« ./autre/ », « #plan ») is resolved against it, a scheme-relative one
    (« //cdn.example.org/a.png ») takes its scheme. A URL with a scheme, an empty one
    and an email placeholder (« @@UNSUB@@ ») are kept as they are."""
    if not url or url.startswith("@@") or urlsplit(url).scheme in ABSOLUTE_SCHEMES:
        return url
    if url.startswith("//"):
        return f"{urlsplit(settings.SITE_URL).scheme}:{url}"
    if url.startswith("/"):
        return settings.SITE_URL + url
    return urljoin(f"{settings.SITE_URL}/", url)


# `reverse` walks the URLconf on every call, which costs as much as a Redis round trip:
# the routes of the hot paths are reversed once, with a slot where the value goes.
_SLOT = "zzPoulsSlotzz"  # matches every converter's pattern (str, slug), in no route
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_:-]+")  # kept as they are in a path: no quoting
_ROUTES: dict[tuple[str, str, str], str] = {}


def reverse_with(name: str, value: str) -> str:
    """`reverse(name, args=[value])`, the route reversed once per URLconf and script
    prefix. Values other than letters, digits and « _ : - » go through `reverse`."""
    if not _SAFE_VALUE.fullmatch(value):
        return reverse(name, args=[value])
    key = (name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    route = _ROUTES.get(key)
    if route is None:
        route = _ROUTES[key] = reverse(name, args=[_SLOT])
    return route.replace(_SLOT, value)
