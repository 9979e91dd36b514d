"""Transactional emails of signups (confirmation, « déjà inscrit·e », re-consent).

Templates come in trios under templates/signups/email/: `<name>.subject.txt`,
`<name>.txt`, `<name>.html`. They never contain text typed by a visitor, except a
first name that reads as one (`greeting_name`).
"""

import re

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

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


def send(*, name: str, to: str, context: dict, language: str = "fr") -> None:
    context = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    with translation.override(language):
        subject = render_to_string(f"signups/email/{name}.subject.txt", context)
        text = render_to_string(f"signups/email/{name}.txt", context)
        html = render_to_string(f"signups/email/{name}.html", context)
    subject = " ".join(subject.split())  # one line, whatever the template does
    subject, text, html = french_email(subject=subject, text=text, html=html, language=language)
    message = WellFormedEmail(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()
