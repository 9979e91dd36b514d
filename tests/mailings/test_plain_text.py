"""The plain-text part, read in a mail client that shows no HTML: text made from the
Markdown parse, and a footer that never prints the placeholder postal address."""

import pytest
from django.core import mail

from mailings import rendering
from mailings.checks import mailing_check
from mailings.services import mailing_dispatch, mailing_schedule, outbox_send_batch

from .factories import ContactFactory, MailingFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

BODY = """## Trois questions à poser

Voici **les trois questions**, _dans l’ordre_, et [l’atelier gratuit](/atelier/) pour
aller plus loin : <https://exemple.org/guide>.

- Qu’avez-vous essayé **avant** ?
- Combien cela vous a-t-il *coûté* ?

1. écouter
2. noter

> Une phrase **citée**.

Écrivez-moi : [bonjour@exemple.org](mailto:bonjour@exemple.org).
"""


def _send(body=BODY):
    subscription = SubscriptionFactory(contact=ContactFactory(first_name="Zoé"))
    mailing = MailingFactory(body=body, lists=[subscription.mailing_list])
    mailing_schedule(mailing=mailing)
    assert mailing_dispatch(mailing_id=mailing.pk) == 1
    assert outbox_send_batch() == 1
    (message,) = mail.outbox
    return message.body, message.alternatives[0][0]


def test_the_text_part_is_readable_text(settings):
    text, html = _send()
    for mark in ("**", "##", "](", "_dans", "*coûté*", "<https"):
        assert mark not in text, mark
    assert "Trois questions à poser\n---" in text  # the heading, underlined
    assert "les trois questions, dans l’ordre" in text
    assert f"l’atelier gratuit ({settings.SITE_URL}/atelier/)" in " ".join(text.split())
    assert "https://exemple.org/guide" in text
    assert "• Qu’avez-vous essayé avant" in text
    assert "1. écouter\n2. noter" in text
    assert "> Une phrase citée." in text
    assert "bonjour@exemple.org (mailto:" not in text and "bonjour@exemple.org" in text
    assert all(len(line) <= 78 or "://" in line for line in text.splitlines())
    # The HTML part is the same parse.
    assert "<strong>les trois questions</strong>" in html
    assert f'href="{settings.SITE_URL}/atelier/"' in html


def test_markdown_to_text_keeps_urls_whole_and_placeholders():
    long_url = "https://exemple.org/" + "x" * 90
    text = rendering.markdown_to_text(
        f"Un lien très long : [lire]({long_url}) puis [@@UNSUB@@](@@UNSUB@@).\n\n***\n\n`code`"
    )
    assert f"lire ({long_url})" in text.replace("\n", " ")
    assert "@@UNSUB@@" in text and "[@@UNSUB@@]" not in text
    assert "***" not in text and "`" not in text and "code" in text


def test_the_placeholder_postal_address_is_never_printed(settings):
    settings.MAIL_POSTAL_ADDRESS = settings.MAIL_POSTAL_ADDRESS_PLACEHOLDER
    text, html = _send("Un texte.")
    assert "à configurer" not in text + html
    assert "Adresse postale" not in text + html
    # Something sensible instead: who writes, and where.
    assert f"— {settings.SITE_URL}" in text and settings.SITE_URL in html


def test_the_postal_address_is_printed_when_set(settings):
    settings.MAIL_POSTAL_ADDRESS = "Pouls, 12 rue des Lecteurs, 75011 Paris"
    text, html = _send("Un texte.")
    assert "Adresse postale : Pouls, 12 rue des Lecteurs, 75011 Paris" in " ".join(text.split())


def test_a_message_rendered_before_a_settings_change_is_rendered_again(settings):
    """Renders are kept per message version; a changed setting is seen all the same."""
    mailing = MailingFactory(body="Un texte.")
    settings.MAIL_POSTAL_ADDRESS = "Pouls, 12 rue des Lecteurs, 75011 Paris"
    before = rendering.render_message(mailing)
    assert rendering.render_message(mailing) is before  # kept
    settings.MAIL_POSTAL_ADDRESS = "Pouls, 3 place des Abonnées, 69001 Lyon"
    after = " ".join(rendering.render_message(mailing).text.split())
    assert "3 place des Abonnées, 69001 Lyon" in after and "12 rue" not in after


def test_a_real_send_with_the_placeholder_address_is_blocked_in_development(settings):
    mailing = MailingFactory(body="Un texte.")
    settings.PRODUCTION = False
    settings.MAIL_POSTAL_ADDRESS = settings.MAIL_POSTAL_ADDRESS_PLACEHOLDER
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert any("MAIL_POSTAL_ADDRESS" in item for item in mailing_check(mailing=mailing).blocking)
    settings.EMAIL_BACKEND = "config.mail.EmlFileBackend"  # mail kept on the machine
    assert not any(
        "MAIL_POSTAL_ADDRESS" in item for item in mailing_check(mailing=mailing).blocking
    )
