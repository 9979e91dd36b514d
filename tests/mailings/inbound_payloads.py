"""Replies as ESPs post them to the inbound webhook (payload shapes from anymail's own
test suite): Postmark's parsed JSON, Mailgun's signed form with the raw MIME."""

import hashlib
import hmac
import time
import uuid
from email.message import EmailMessage

from .esp_webhooks import MAILGUN_SIGNING_KEY

REPLY_TO = "reponses@inbound.pouls.example"

GMAIL_REPLY = (
    "Merci pour cette leçon, je l’essaie dès demain.\n"
    "\n"
    "Le lun. 30 nov. 2026 à 10:02, Pouls <{reply_to}> a écrit :\n"
    "> Bonjour Awa,\n"
    "> Une leçon pour Awa.\n"
)


def raw_reply(
    *,
    to: str,
    sender: str,
    subject: str = "Re: Leçon 1",
    text: str = "Merci !",
    headers: dict | None = None,
    message_id: str | None = None,
) -> str:
    message = EmailMessage()
    message["From"] = f"Awa Koffi <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{uuid.uuid4()}@mail.example.org>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    return message.as_string()


def postmark_inbound(
    *,
    to: str,
    sender: str,
    subject: str = "Re: Leçon 1",
    text: str = "Merci !",
    headers: dict | None = None,
    message_id: str | None = None,
) -> dict:
    header_list = [
        {"Name": "Return-Path", "Value": f"<{sender}>"},
        {"Name": "Message-ID", "Value": message_id or f"<{uuid.uuid4()}@mail.example.org>"},
        *({"Name": name, "Value": value} for name, value in (headers or {}).items()),
    ]
    return {
        "FromName": "Awa Koffi",
        "From": sender,
        "FromFull": {"Email": sender, "Name": "Awa Koffi", "MailboxHash": ""},
        "To": to,
        "ToFull": [{"Email": to, "Name": "", "MailboxHash": ""}],
        "CcFull": [],
        "BccFull": [],
        "OriginalRecipient": to,
        "Subject": subject,
        "MessageID": str(uuid.uuid4()),
        "Date": "Mon, 30 Nov 2026 10:15:00 +0100",
        "TextBody": text,
        "HtmlBody": "",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": header_list,
        "Attachments": [],
    }


def mailgun_inbound(raw_mime: str, *, recipient: str, sender: str) -> dict:
    """A Mailgun route's forward() with « raw MIME », signed with the webhook key."""
    timestamp = str(int(time.time()))
    token = uuid.uuid4().hex
    signature = hmac.new(
        MAILGUN_SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return {
        "recipient": recipient,
        "sender": sender,
        "body-mime": raw_mime,
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
    }
