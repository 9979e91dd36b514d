"""The one way an address is made absolute: on SITE_URL, for emails, feeds, the
sitemap, canonical and OpenGraph links, whatever host a request came through."""

from urllib.parse import urljoin, urlsplit

from django.conf import settings

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
