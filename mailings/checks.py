"""Pre-send checks: what would go wrong in readers' inboxes, found before sending.

One service (`mailing_check`) serves the `mailing_check` command and the sending
screen. Blocking problems prevent scheduling; warnings are the editor's call.
"""

import re
import shutil
import subprocess
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http.request import validate_host
from django.utils.translation import gettext as _

from . import rendering
from .models import Mailing

# Gmail cuts a message whose HTML is over 102 KB (« [Message tronqué] »): the
# unsubscribe link at the bottom disappears with the rest.
GMAIL_CLIP_BYTES = 102 * 1024
SUBJECT_MAX = 70
SPAM_THRESHOLD = 5.0
# SpamAssassin loads its rules in a second or two; the check runs inside an admin request
# (gunicorn's timeout: 30 s), so it gives up well before.
SPAM_TIMEOUT = 15


@dataclass
class CheckReport:
    blocking: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.blocking

    def as_text(self) -> str:
        lines = []
        for title, items in (
            (_("Bloquant"), self.blocking),
            (_("Avertissements"), self.warnings),
            (_("Pour information"), self.notes),
        ):
            if items:
                lines.append(f"{title} :")
                lines.extend(f"  - {item}" for item in items)
        if not self.blocking and not self.warnings:
            lines.insert(0, _("Aucun problème trouvé."))
        return "\n".join(lines)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        elif tag == "img" and values.get("src") is not None:
            self.images.append(values["src"])


def _body_images(body: str) -> list[tuple[str, str]]:
    """(src, alt text) of each image of the Markdown body."""
    found = []
    for token in rendering._markdown.parse(body):
        for child in token.children or []:
            if child.type == "image":
                alt = "".join(grandchild.content for grandchild in child.children or [])
                found.append((child.attrGet("src") or "", alt.strip()))
    return found


def _site_status(url: str) -> int:
    """The status this site answers for one of its own addresses, asked in-process."""
    from django.test import Client

    parts = urlsplit(url)
    path = unquote(parts.path) or "/"
    if path.startswith(settings.MEDIA_URL):
        relative = path[len(settings.MEDIA_URL) :]
        root = Path(settings.MEDIA_ROOT).resolve()
        candidate = (root / relative).resolve()
        return 200 if candidate.is_relative_to(root) and candidate.is_file() else 404
    if path.startswith(settings.STATIC_URL):
        return 200 if finders.find(path[len(settings.STATIC_URL) :]) else 404
    host = rendering.site_host()
    if not validate_host(host, settings.ALLOWED_HOSTS):
        host = next((h.lstrip(".") for h in settings.ALLOWED_HOSTS if h != "*"), "localhost")
    client = Client(HTTP_HOST=host, raise_request_exception=False)
    target = path + (f"?{parts.query}" if parts.query else "")
    response = client.get(target, secure=parts.scheme == "https", follow=True)
    return response.status_code


def _external_status(url: str, timeout: float) -> str:
    """ "" when the link answers, else what went wrong (HEAD, then GET for servers
    that refuse HEAD)."""
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(  # noqa: S310 — http(s) only, checked by the caller
            url, method=method, headers={"User-Agent": "Pouls link check"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310
                return ""
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code in (403, 405, 501):
                continue
            return str(exc.code)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return str(getattr(exc, "reason", exc))
    return ""


_SPAM_SCORE = re.compile(r"^X-Spam-Status:.*?score=(-?\d+(?:\.\d+)?)", re.M | re.S)


def spam_score(message: bytes, *, timeout: float | None = None) -> float | None:
    """SpamAssassin's score for the message (`spamassassin -t -L`: local tests only,
    no network: no DNS block lists, no Razor/Pyzor), or None when it is not installed,
    fails or takes longer than `timeout` seconds."""
    executable = shutil.which("spamassassin")
    if executable is None:
        return None
    try:
        result = subprocess.run(  # a fixed executable, the message on stdin
            [executable, "-t", "-L"],
            input=message,
            capture_output=True,
            timeout=timeout or SPAM_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _SPAM_SCORE.search(result.stdout.decode("utf-8", "replace"))
    return float(match.group(1)) if match else None


def _subject_warnings(subject: str) -> list[str]:
    warnings = []
    if len(subject) > SUBJECT_MAX:
        warnings.append(
            _("L’objet fait %(count)s caractères : au-delà de %(max)s, il sera coupé.")
            % {"count": len(subject), "max": SUBJECT_MAX}
        )
    letters = [c for c in subject if c.isalpha()]
    if len(letters) >= 4 and all(c.isupper() for c in letters):
        warnings.append(_("L’objet est tout en capitales : les filtres anti-spam s’en méfient."))
    if subject.strip() and not any(unicodedata.category(c)[0] in "LN" for c in subject):
        warnings.append(_("L’objet n’a ni lettre ni chiffre (seulement des emoji ou des signes)."))
    return warnings


def mailing_check(
    *,
    mailing: Mailing,
    external_links: bool | None = None,
    spam: bool = True,
    online: list[str] = (),
) -> CheckReport:
    """Everything that would go wrong in readers' inboxes, before sending `mailing`.
    `online`: paths of this site taken as answering (an article published with the send)."""
    report = CheckReport()
    rendered = rendering.render_message(mailing)
    values = rendering.recipient_values(
        delivery_id=None,
        email="lecteur@example.org",
        first_name="Camille",
        subscription_id=1,
        contact_id=1,
        list_slug="check",
        list_name="check",
    )
    html, text = rendered.preview(values)
    _check_images(report, mailing)
    external = _check_site_links(report, mailing, online)
    _check_ab_test(report, mailing)
    _check_audience_and_law(report, mailing, rendered)
    _check_inbox(report, mailing, html)
    _check_external_links(report, external, external_links)
    if spam:
        _check_spam(report, rendered.personal_bytes(values))
    return report


def _check_images(report: CheckReport, mailing: Mailing) -> None:
    for src, alt in _body_images(mailing.body):
        if rendering.image_url(src) is None:
            report.blocking.append(
                _("Image introuvable : %(src)s (les lecteurs ne verraient que sa légende).")
                % {"src": src}
            )
        elif not alt:
            report.warnings.append(_("L’image %(src)s n’a pas de texte alternatif.") % {"src": src})


def _check_site_links(report: CheckReport, mailing: Mailing, online) -> list[str]:
    """Relative links, and links to this site that do not answer. Returns the others
    (external links), checked later if at all."""
    parser = _Links()  # the editor's text: the chrome's own links are the site's business
    parser.feed(rendering.markdown_to_html(mailing.body))
    site = urlsplit(settings.SITE_URL)
    external = []
    for url in dict.fromkeys(parser.links + parser.images):
        parts = urlsplit(url)
        if parts.scheme in ("mailto", "tel"):
            continue
        if parts.scheme not in ("http", "https") or not parts.netloc:
            report.blocking.append(_("Lien relatif : %(url)s.") % {"url": url})
        elif parts.hostname == site.hostname:
            status = 200 if (parts.path or "/") in online else _site_status(url)
            _site_link_status(report, url, status)
        else:
            external.append(url)
    return external


def _site_link_status(report: CheckReport, url: str, status: int) -> None:
    if status == 404:
        report.blocking.append(
            _("Lien vers le site qui répond « page introuvable » (404) : %(url)s.") % {"url": url}
        )
    elif status >= 500:
        report.warnings.append(
            _("Lien vers le site en erreur (%(status)s) : %(url)s.")
            % {"status": status, "url": url}
        )


def _check_ab_test(report: CheckReport, mailing: Mailing) -> None:
    variants = mailing.variants.count()
    if variants == 1:
        report.blocking.append(_("Un test A/B compare au moins deux objets."))
    if variants >= 2 and mailing.local_time:
        report.blocking.append(
            _("Un test A/B part à la même heure pour tous : décochez « heure locale ».")
        )
    if (
        variants >= 2
        and mailing.ab_measure == Mailing.AbMeasure.OPENS
        and not settings.MAIL_TRACK_OPENS
    ):
        report.warnings.append(
            _(
                "Les ouvertures ne sont pas suivies (MAIL_TRACK_OPENS) : le gagnant sera choisi selon les clics."
            )
        )
    for subject in mailing.variants.values_list("subject", flat=True):
        report.warnings.extend(_subject_warnings(subject))


def _check_audience_and_law(report: CheckReport, mailing: Mailing, rendered) -> None:
    """Someone to send to; the postal address and the unsubscribe link the law asks for."""
    if not mailing.lists.exists() or not mailing.audience_count():
        report.blocking.append(_("Personne ne recevrait ce mailing : l’audience est vide."))
    real_send = settings.EMAIL_BACKEND not in settings.LOCAL_EMAIL_BACKENDS
    if (settings.PRODUCTION or real_send) and not rendering.postal_address():
        report.blocking.append(
            _("L’adresse postale est encore celle d’exemple : réglez MAIL_POSTAL_ADDRESS.")
        )
    if "@@UNSUB@@" not in rendered.html or "@@UNSUB@@" not in rendered.text:
        report.blocking.append(_("Le message n’a pas de lien de désinscription."))


def _check_inbox(report: CheckReport, mailing: Mailing, html: str) -> None:
    """How the message shows in an inbox: clipped by Gmail, its preview line, its subject."""
    size = len(html.encode())
    if size > GMAIL_CLIP_BYTES:
        report.warnings.append(
            _("Le message pèse %(size)s Ko : Gmail coupe au-delà de 102 Ko.")
            % {"size": size // 1024}
        )
    if not mailing.preheader.strip():
        report.warnings.append(
            _("Pas de texte d’aperçu : les messageries montreront le début du message.")
        )
    report.warnings.extend(_subject_warnings(mailing.subject))


def _check_external_links(report: CheckReport, external: list[str], check: bool | None) -> None:
    if check is None:
        check = settings.MAIL_CHECK_LINKS
    if check:
        timeout = settings.MAIL_CHECK_LINKS_TIMEOUT
        for url in external:
            if problem := _external_status(url, timeout):
                report.warnings.append(
                    _("Le lien %(url)s ne répond pas (%(problem)s).")
                    % {"url": url, "problem": problem}
                )
    elif external:
        report.notes.append(
            _("%(count)s liens externes non vérifiés (MAIL_CHECK_LINKS désactivé).")
            % {"count": len(external)}
        )


def _check_spam(report: CheckReport, message: bytes) -> None:
    score = spam_score(message)
    if score is None and shutil.which("spamassassin") is None:
        report.notes.append(_("Score SpamAssassin non calculé (spamassassin n’est pas installé)."))
    elif score is None:
        report.notes.append(
            _("Score SpamAssassin non calculé (spamassassin n’a pas répondu à temps).")
        )
    elif score >= SPAM_THRESHOLD:
        report.warnings.append(
            _(
                "Score SpamAssassin : %(score)s (à partir de %(max)s, le message est classé en spam)."
            )
            % {"score": score, "max": SPAM_THRESHOLD}
        )
    else:
        report.notes.append(_("Score SpamAssassin : %(score)s.") % {"score": score})
