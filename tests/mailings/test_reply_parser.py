"""The text kept of a reply: what the reader wrote, without the history their mail
client quoted below it, in the French forms of the usual clients."""

import pytest

from mailings import replies
from mailings.replies import reply_text

NEW = "Merci pour cette leçon !\nJe l’essaie dès demain avec mon équipe."

QUOTED = {
    "gmail": (
        f"{NEW}\n\n"
        "Le lun. 30 nov. 2026 à 10:02, Pouls <reponses+d1.abc@pouls.fr> a écrit :\n\n"
        "> Bonjour Awa,\n>\n> Voici la leçon 2.\n"
    ),
    # Gmail wraps a long header line: « a écrit : » on the next one.
    "gmail_wrapped": (
        f"{NEW}\n\n"
        "Le lun. 30 nov. 2026 à 10:02, Pouls <reponses+d12345.0123456789abcdef@pouls.fr>\n"
        "a écrit :\n\n"
        "> Bonjour Awa,\n"
    ),
    "outlook": (
        f"{NEW}\n\n"
        "De : Pouls <bonjour@pouls.fr>\n"
        "Envoyé : lundi 30 novembre 2026 10:02\n"
        "À : awa@example.org\n"
        "Objet : Leçon 2\n\n"
        "Bonjour Awa,\nVoici la leçon 2.\n"
    ),
    "outlook_separator": (
        f"{NEW}\n\n"
        "________________________________\n"
        "De : Pouls <bonjour@pouls.fr>\n"
        "Envoyé : lundi 30 novembre 2026 10:02\n"
        "Objet : Leçon 2\n\nBonjour Awa,\n"
    ),
    "apple_mail": (
        f"{NEW}\n\n"
        "> Le 30 nov. 2026 à 10:02, Pouls <bonjour@pouls.fr> a écrit :\n"
        "> \n> Bonjour Awa,\n> Voici la leçon 2.\n"
    ),
    "orange": (
        f"{NEW}\n\n"
        "-----Message d'origine-----\n"
        "De : Pouls\n"
        "Envoyé : lundi 30 novembre 2026 10:02\n"
        "Objet : Leçon 2\n\nBonjour Awa,\n"
    ),
    "english_gmail": (
        f"{NEW}\n\nOn Mon, Nov 30, 2026 at 10:02 AM Pouls <bonjour@pouls.fr> wrote:\n> Hello\n"
    ),
    "crlf": (f"{NEW}\r\n\r\nLe lun. 30 nov. 2026 à 10:02, Pouls a écrit :\r\n> Bonjour\r\n"),
}


@pytest.mark.parametrize("client", QUOTED)
def test_the_quoted_history_is_cut_off(client):
    assert reply_text(QUOTED[client]) == NEW


def test_a_reply_without_quote_is_kept_whole():
    body = "Juste un mot : merci.\n\nÀ propos de la leçon 2 : j’ai une question.\n\nAwa"
    assert reply_text(body) == body


def test_a_quote_in_the_middle_keeps_what_was_written_before_it():
    body = "Oui !\n\nLe lun. 30 nov. 2026 à 10:02, Pouls a écrit :\n> Vous venez jeudi ?\n"
    assert reply_text(body) == "Oui !"


def test_an_empty_body_stays_empty():
    assert reply_text("") == ""


def test_an_html_only_reply_loses_its_blockquote(db):
    from anymail.inbound import AnymailInboundMessage

    markup = (
        "<div>Merci&nbsp;!<br>Très clair.</div>"
        "<blockquote><p>Bonjour Awa, voici la leçon.</p></blockquote>"
    )
    message = AnymailInboundMessage.construct(
        from_email="awa@example.org", to="reponses@pouls.example", html=markup
    )
    assert not message.text
    reply = replies.reply_receive(message, recipients=[])
    text = reply.full_text
    assert "Merci" in text and "Très clair." in text
    assert "voici la leçon" not in text
