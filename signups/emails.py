"""Transactional emails of signups (confirmation, « déjà inscrit·e », re-consent).

Templates come in trios under templates/signups/email/: `<name>.subject.txt`,
`<name>.txt`, `<name>.html`. They never contain text typed by a visitor, except a
first name that reads as one (`greeting_name`).
"""

import re

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape

from config.links import absolute
from config.mail import WellFormedEmail
from config.typography import french_email

# Letters, with the spaces, hyphens, apostrophes and dots names carry (« Marie-Ève »,
# « N’Golo », « J. »): at most three words, nothing that reads as a sentence or a link.
_NAME = re.compile(r"[^\W\d_]+(?:[ .’'-]{1,2}[^\W\d_]+){0,3}\.?")


def greeting_name(first_name: str) -> str:
    """The first name to greet with (« Bonjour Awa, »), or "" for none: the signup
    form lets anybody type it for any address, so anything else is left out."""
    name = " ".join((first_name or "").split())
    if len(name) > 30 or len(name.split()) > 3 or not _NAME.fullmatch(name):
        return ""
    return name


def render(*, name: str, context: dict, language: str = "fr") -> tuple[str, str, str]:
    """Subject, plain text and HTML of one email."""
    context = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    with translation.override(language):
        subject = render_to_string(f"signups/email/{name}.subject.txt", context)
        text = render_to_string(f"signups/email/{name}.txt", context)
        html = render_to_string(f"signups/email/{name}.html", context)
    subject = " ".join(subject.split())  # one line, whatever the template does
    return french_email(subject=subject, text=text, html=html, language=language)


def send(*, name: str, to: str, context: dict, language: str = "fr", connection=None) -> None:
    """Render and send one email (through `connection`, a mail backend kept open by
    the caller, or a new one)."""
    subject, text, html = render(name=name, context=context, language=language)
    _message(subject, text, html, to=to, connection=connection).send()


def _message(
    subject: str, text: str, html: str, *, to: str, connection=None, headers=None
) -> WellFormedEmail:
    message = WellFormedEmail(
        subject=subject, body=text, to=[to], connection=connection, headers=headers
    )
    message.attach_alternative(html, "text/html")
    return message


# The links of a signed-up reader's emails (`url`, `update_url`): one per recipient.
LINKS = ("url", "update_url")


def link_slot(link: str) -> str:
    """The placeholder a link is rendered as, to be filled in per recipient."""
    return absolute(f"/@@{link.upper()}@@")


class Renderer:
    """Replies, each template rendered once per list, language and greeting (in
    `rendered`, which a caller may keep from one run to the next): the links, the only part that differs between two readers, are left as
    placeholders and filled into the rendered text (escaped in the HTML). Sends what
    `send` would, for a fraction of the cost (tests/signups/test_replies.py compares)."""

    def __init__(self, rendered: dict | None = None):
        self._rendered: dict[tuple, tuple[str, str, str]] = {} if rendered is None else rendered

    def key(self, *, name: str, context: dict, language: str) -> tuple[tuple, dict]:
        """(what the rendering depends on but the links, the links)."""
        links = {key: context[key] for key in LINKS if context.get(key)}
        shared = {key: value for key, value in context.items() if key not in links}
        mailing_list = shared.get("mailing_list")
        key = (
            name,
            language,
            settings.SITE_NAME,
            settings.SITE_URL,
            getattr(mailing_list, "pk", None),
            getattr(mailing_list, "name", None),
            shared.get("first_name", ""),
            tuple(links),
            tuple(sorted(shared)),
        )
        return key, links

    def slotted(self, *, name: str, context: dict, language: str) -> tuple[str, str, str]:
        """Subject, text and HTML with a placeholder for each link (`link_slot`)."""
        key, links = self.key(name=name, context=context, language=language)
        if key not in self._rendered:
            slots = {link: link_slot(link) for link in links}
            self._rendered[key] = render(name=name, context={**context, **slots}, language=language)
        return self._rendered[key]

    def render(self, *, name: str, context: dict, language: str = "fr") -> tuple[str, str, str]:
        subject, text, html = self.slotted(name=name, context=context, language=language)
        for link in LINKS:
            if context.get(link):
                slot, url = link_slot(link), context[link]
                subject = subject.replace(slot, url)
                text = text.replace(slot, url)
                html = html.replace(slot, escape(url))
        return subject, text, html

    def message(
        self,
        *,
        name: str,
        to: str,
        context: dict,
        language: str = "fr",
        connection=None,
        slots: bool = False,
        headers=None,
    ) -> WellFormedEmail:
        """The Django message; with `slots`, its links left as placeholders."""
        parts = (self.slotted if slots else self.render)(
            name=name, context=context, language=language
        )
        return _message(*parts, to=to, connection=connection, headers=headers)
