"""Transactional emails of signups (confirmation, « déjà inscrit·e », re-consent).

Templates come in trios under templates/signups/email/: `<name>.subject.txt`,
`<name>.txt`, `<name>.html`. They never contain text typed by a visitor.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from config.mail import WellFormedEmail
from config.typography import french_email


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
