"""The reader's webmail, from the domain of their address: the thanks page offers a
button that opens it (and, where the provider has a search URL, one that finds our
email there). Only well-known public providers; any other domain gets no button."""

from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import quote

from django.conf import settings


@dataclass(frozen=True)
class Webmail:
    name: str
    url: str
    search_url: str = ""  # with {sender}: the sender's address, URL-quoted


_GMAIL = Webmail(
    "Gmail",
    "https://mail.google.com/mail/u/0/",
    "https://mail.google.com/mail/u/0/#search/from%3A{sender}+in%3Aanywhere",
)
_OUTLOOK = Webmail("Outlook", "https://outlook.live.com/mail/0/")
_YAHOO = Webmail("Yahoo Mail", "https://mail.yahoo.com/")
_ICLOUD = Webmail("iCloud Mail", "https://www.icloud.com/mail/")
_VIDEOTRON = Webmail("Vidéotron", "https://courrielweb.videotron.com/")

# Exact domains.
_DOMAINS = {
    "gmail.com": _GMAIL,
    "googlemail.com": _GMAIL,
    "msn.com": _OUTLOOK,
    "passport.com": _OUTLOOK,
    "ymail.com": _YAHOO,
    "rocketmail.com": _YAHOO,
    "orange.fr": Webmail("Orange", "https://mail.orange.fr/"),
    "wanadoo.fr": Webmail("Orange", "https://mail.orange.fr/"),
    "free.fr": Webmail("Free", "https://webmail.free.fr/"),
    "sfr.fr": Webmail("SFR Mail", "https://webmail.sfr.fr/"),
    "neuf.fr": Webmail("SFR Mail", "https://webmail.sfr.fr/"),
    "laposte.net": Webmail("La Poste", "https://www.laposte.net/accueil"),
    "icloud.com": _ICLOUD,
    "me.com": _ICLOUD,
    "mac.com": _ICLOUD,
    "videotron.ca": _VIDEOTRON,
    "videotron.qc.ca": _VIDEOTRON,
    "proton.me": Webmail("Proton Mail", "https://mail.proton.me/"),
    "protonmail.com": Webmail("Proton Mail", "https://mail.proton.me/"),
    "gmx.fr": Webmail("GMX", "https://www.gmx.fr/"),
    "gmx.com": Webmail("GMX", "https://www.gmx.com/"),
    "aol.com": Webmail("AOL Mail", "https://mail.aol.com/"),
    "aol.fr": Webmail("AOL Mail", "https://mail.aol.com/"),
}
# Providers with one domain per country (hotmail.fr, yahoo.ca, live.be…): the first label.
_FAMILIES = {
    "hotmail": _OUTLOOK,
    "outlook": _OUTLOOK,
    "live": _OUTLOOK,
    "windowslive": _OUTLOOK,
    "yahoo": _YAHOO,
}
# The country parts those families use (« live.fr », « yahoo.co.uk »), not any domain.
_COUNTRY_SUFFIXES = {
    "com", "fr", "be", "ch", "ca", "lu", "de", "es", "it", "nl", "pt", "at", "ie", "dk",
    "se", "no", "fi", "co.uk", "com.br", "com.ar", "com.mx", "co.jp", "co.in", "com.au",
    "ma", "sn", "ci", "tn", "dz", "cm", "re", "mu",
}  # fmt: skip


def webmail_for(email: str) -> Webmail | None:
    """The webmail of a known public provider for this address, or None."""
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    if not domain:
        return None
    found = _DOMAINS.get(domain)
    if found is None:
        family, _dot, suffix = domain.partition(".")
        if suffix in _COUNTRY_SUFFIXES:
            found = _FAMILIES.get(family)
    return found


def search_url(webmail: Webmail) -> str:
    """The provider's search for our emails (the sender's address), or ""."""
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    if not webmail.search_url or not sender:
        return ""
    return webmail.search_url.format(sender=quote(sender, safe=""))
