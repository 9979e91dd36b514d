"""Click tracking through the site's own links (MAIL_TRACK_CLICKS, off by default).

When on, every web link of a message's body and chrome is rewritten, once per render,
to a placeholder; per recipient the placeholder becomes the site's redirect link for
that delivery and that URL: `/lien/<delivery>/<signature>/?u=<url>`. The signature is
an HMAC of the delivery and the URL under SECRET_KEY: a link cannot be made up or
altered, so the redirect only ever leads to a URL that was in a message we sent (no
open redirect). The unsubscribe and preference links (placeholders, or a pasted copy
of their URLs), `mailto:` and `tel:` links and images are never rewritten.

A GET on the link records a « clicked » event for the delivery, through the same
recording as the ESP's webhooks (so the results, the clicks per link, who clicked and
the A/B test's « clicks » measure read it unchanged), then redirects (302).
"""

import base64
import hashlib
import html
import re
from functools import lru_cache
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from config.links import absolute

# Placeholders @@TRKA@@, @@TRKB@@… in the text, @@TRHA@@… in the HTML (letters only, like
# the others): the same tracked link in both, the link itself HTML-escaped or not.
LINK_PREFIX, HTML_PREFIX = "TRK", "TRH"
_HREF = re.compile(r'(<a\b[^>]*?)\s+href="(https?://[^"]+)"', re.IGNORECASE)
_TEXT_URL = re.compile(r"https?://[^\s()<>]+")
# A tracked link and its line stay under the 8bit line limit (rendering.MAX_LINE).
MAX_TRACKED_URL = 400
_SLOT = "0"


def enabled() -> bool:
    return settings.MAIL_TRACK_CLICKS


def _name(index: int, prefix: str = LINK_PREFIX) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{prefix}{letters}"


@lru_cache(maxsize=8)
def _never_tracked(site_url: str) -> tuple:
    """The signed links of `signups` (unsubscribe, preferences, confirmation): never
    rewritten, even pasted into a body."""
    return tuple(
        absolute(reverse(f"signups:{purpose}", args=["x"])).rsplit("x", 1)[0]
        for purpose in ("unsubscribe", "preferences", "confirm", "data", "reconsent")
    )


def _trackable(url: str) -> bool:
    return (
        len(quote(url, safe="")) <= MAX_TRACKED_URL
        and urlsplit(url).scheme in ("http", "https")
        and not url.startswith(_never_tracked(settings.SITE_URL))
    )


def rewrite(markup: str, text: str) -> tuple[str, str, tuple]:
    """The message's HTML and text with each web link replaced by its placeholder, and
    the links in placeholder order (`_name(i)` stands for `links[i]`)."""
    links: dict[str, str] = {}

    def placeholder(url: str) -> str | None:
        if url not in links:
            if not _trackable(url):
                return None
            links[url] = _name(len(links))
        return links[url]

    def href(match) -> str:
        url = html.unescape(match.group(2))
        name = placeholder(url)
        if name is None:
            return match.group(0)
        # On a line of its own (whitespace between attributes): the link grows per
        # recipient, and every line must stay under the 8bit limit of 998 bytes.
        return f'{match.group(1)}\nhref="@@{HTML_PREFIX}{name.removeprefix(LINK_PREFIX)}@@"\n'

    markup = _HREF.sub(href, markup)

    def text_url(match) -> str:
        url = match.group(0)
        return f"@@{links[url]}@@" if url in links else url

    text = _TEXT_URL.sub(text_url, text)
    return markup, text, tuple(links)


@lru_cache(maxsize=8)
def _keyed(secret_key: str):
    """Keyed BLAKE2b (a MAC by design, one pass; HMAC-SHA256 took twice as long per link),
    under a key derived from SECRET_KEY for this purpose alone; copied per link."""
    key = hashlib.sha256(f"pouls.mailings.click:{secret_key}".encode()).digest()
    return hashlib.blake2b(key=key, digest_size=16)


def _sign(keyed, message: bytes) -> str:
    """The signature of `<delivery id>:<url>` (as bytes) under the keyed hash."""
    mac = keyed.copy()
    mac.update(message)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def signature(delivery_id, url: str) -> str:
    return _sign(_keyed(settings.SECRET_KEY), f"{delivery_id}:{url}".encode())


def valid(delivery_id, url: str, given: str) -> bool:
    return bool(url) and constant_time_compare(signature(delivery_id, url), given)


@lru_cache(maxsize=8)
def _base(site_url: str) -> tuple[str, str]:
    """The redirect URL around the delivery and the signature, resolved once."""
    path = reverse("mailings:click", args=[int(_SLOT), "SIG"])
    before, after = path.split(f"/{_SLOT}/SIG/")
    return f"{absolute(before)}/", f"/{after}?u="


@lru_cache(maxsize=64)
def _quoted(links: tuple) -> tuple:
    return tuple(
        (_name(i), _name(i, HTML_PREFIX), url, quote(url, safe="")) for i, url in enumerate(links)
    )


def link_values(delivery_id: str, links: tuple) -> dict:
    """The placeholders' values for one recipient: the tracked links of their delivery,
    or the links themselves when there is none (a preview, a test send)."""
    if not delivery_id:
        values = {}
        for name, html_name, url, _quoted_url in _quoted(links):
            values[name], values[html_name] = url, html.escape(url)
        return values
    head, tail = _base(settings.SITE_URL)
    keyed = _keyed(settings.SECRET_KEY)
    prefix = f"{delivery_id}:".encode()
    values = {}
    for name, html_name, url, quoted in _quoted(links):
        sig = _sign(keyed, prefix + url.encode())
        values[name] = values[html_name] = f"{head}{delivery_id}/{sig}{tail}{quoted}"
    return values


def safe_target(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")
