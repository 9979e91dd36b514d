"""The replies inbox: where readers' replies are routed, how they are read and stored,
and how the editor's answer leaves.

- Address: with MAIL_INBOUND_WEBHOOK on and MAIL_REPLY_TO set, each mailing or lesson
  carries `Reply-To: reponses+d<id>.<sig>@…` (the delivery's id and a signature, lower
  case: some servers lower-case the local part), routed by the ESP to its inbound webhook.
- Storing (`reply_receive`): the text without its quoted history (mail-parser-reply,
  French and English headers, plus the « a écrit : » lines Gmail wraps and Orange's
  « Message d'origine »), linked to the delivery the tag names; else to one whose
  Message-ID its In-Reply-To/References carries, if sent to the same address; else to
  the contact of the sender's address only. An email posted twice is stored once.
- Answer (`reply_answer_request`, `reply_answer_send`): « répondre » records the answer
  once (a second click finds it recorded); the send is claimed in the database before
  the email leaves, so a retry or the tick never sends it twice.
"""

import hashlib
import hmac
import logging
import re
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.mail import REFUSED, RETRY, UNKNOWN, SendFailed, WellFormedEmail
from signups.models import Contact
from signups.suppression import is_suppressed

from . import reply_files
from .models import Delivery, Reply, ReplyAttachment

logger = logging.getLogger(__name__)

_TAG = re.compile(r"^([dr])([0-9a-z]{1,13})\.([0-9a-f]{16})$")
_MESSAGE_ID = re.compile(r"<(delivery|answer)-(\d+)@([^>]+)>")


# --- the address ----------------------------------------------------------------------


def reply_mailbox() -> str:
    """The reply address without tag, or "" when replies are not routed to the inbox."""
    if not (settings.MAIL_INBOUND_WEBHOOK and settings.MAIL_REPLY_TO):
        return ""
    return parseaddr(settings.MAIL_REPLY_TO)[1].lower()


def _key(secret_key: str) -> bytes:
    return hashlib.sha256(f"pouls.mailings.reply{secret_key}".encode()).digest()


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _signature(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]


def reply_address_maker():
    """`delivery_id → its Reply-To address` with the key worked out once (a mailing's
    recipients share it); None when replies are not routed to the inbox."""
    mailbox = reply_mailbox()
    if not mailbox:
        return None
    local, _at, domain = mailbox.partition("@")
    key = _key(settings.SECRET_KEY)

    def address(delivery_id: int | None, kind: str = "d") -> str:
        if not delivery_id:
            return mailbox
        value = f"{kind}{_b36(delivery_id)}"
        return f"{local}+{value}.{_signature(key, value)}@{domain}"

    return address


def reply_address(pk: int | None, kind: str = "d") -> str:
    make = reply_address_maker()
    return make(pk, kind) if make else ""


def read_tag(address: str) -> tuple[str, int] | None:
    """(`d` or `r`, id) of a tagged reply address, when its signature holds."""
    mailbox = reply_mailbox()
    local, _at, domain = address.strip().lower().partition("@")
    base, _plus, tag = local.partition("+")
    if not mailbox or f"{base}@{domain}" != mailbox:
        return None
    match = _TAG.match(tag)
    if not match:
        return None
    kind, number, signature = match.groups()
    expected = _signature(_key(settings.SECRET_KEY), f"{kind}{number}")
    if not hmac.compare_digest(expected, signature):
        return None
    return kind, int(number, 36)


def addressed_to_inbox(addresses) -> list[str]:
    """Those of `addresses` that are the reply mailbox, tagged or not."""
    mailbox = reply_mailbox()
    if not mailbox:
        return []
    found = []
    for address in addresses:
        local, _at, domain = address.strip().lower().partition("@")
        if f"{local.partition('+')[0]}@{domain}" == mailbox:
            found.append(address)
    return found


# --- reading a reply --------------------------------------------------------------------

# What mail-parser-reply misses: the quote header Gmail wraps over two lines, Outlook's
# and Orange's separators, a quoted block left at the end.
_QUOTE_STARTS = [
    re.compile(r"^-{2,}\s*(?:message d.origine|original message|message transféré)", re.I),
    re.compile(r"^_{10,}\s*$"),
    re.compile(r"^(?:le|on)\s.{4,200}?(?:a écrit|wrote)\s*:\s*$", re.I | re.S),
    re.compile(r"^(?:de|from)\s*:\s.+\n(?:.+\n){0,2}(?:envoyé|sent|date)\s*:", re.I),
]


def _cut_quote(text: str) -> str:
    lines = text.split("\n")
    for index in range(len(lines)):
        window = "\n".join(lines[index : index + 4])
        two = "\n".join(lines[index : index + 2])
        for pattern in _QUOTE_STARTS:
            if pattern.match(lines[index]) or pattern.match(two) or pattern.match(window):
                return "\n".join(lines[:index])
    return text


def reply_text(body: str) -> str:
    """The new text of a reply, without the history it quotes; the whole body when it
    quotes nothing."""
    from mailparser_reply import EmailReplyParser

    body = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    try:
        text = EmailReplyParser(languages=["fr", "en"]).parse_reply(text=body)
    except Exception:  # a parser bug never loses a reply
        logger.exception("reply parser failed")
        text = body
    text = _cut_quote(text if text and text.strip() else body)
    lines = text.rstrip().split("\n")
    while lines and (lines[-1].startswith(">") or not lines[-1].strip()):
        lines.pop()  # a quoted block the parser left at the end
    return "\n".join(lines).strip() or body.strip()


def _html_to_text(markup: str) -> str:
    """A text for an email sent as HTML only: blockquotes (the history) dropped."""
    import html

    from django.utils.html import strip_tags

    markup = re.sub(r"(?is)<(script|style|blockquote)\b.*?</\1\s*>", "", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|li|h\d)\s*>", "\n", markup)
    return html.unescape(strip_tags(markup)).strip()


# --- storing ----------------------------------------------------------------------------


def _linked_by_tag(addresses) -> tuple[Delivery | None, int | None]:
    """The delivery and contact a signed tag names: a delivery's, or for a reply to the
    editor's answer, those of the reply it answered."""
    for address in addresses:
        tag = read_tag(address)
        if tag is None:
            continue
        kind, pk = tag
        if kind == "d":
            delivery = Delivery.objects.filter(pk=pk).first()
            if delivery is not None:
                return delivery, delivery.contact_id
        else:
            earlier = Reply.objects.filter(pk=pk).select_related("delivery").first()
            if earlier is not None and earlier.contact_id:
                return earlier.delivery, earlier.contact_id
    return None, None


def _delivery_by_headers(message, sender: str) -> Delivery | None:
    """The delivery whose Message-ID the reply names, if it was sent to the sender
    (the headers are the sender's to write)."""
    named = " ".join(message.get_all("In-Reply-To", []) + message.get_all("References", []))
    delivery_ids, reply_ids, esp_ids = [], [], []
    for kind, pk, _host in _MESSAGE_ID.findall(named):
        (delivery_ids if kind == "delivery" else reply_ids).append(int(pk))
    esp_ids = [m.strip("<>") for m in re.findall(r"<[^>]+>", named)]
    candidates = Delivery.objects.filter(contact__email__iexact=sender).select_related("contact")
    for query in (
        {"pk__in": delivery_ids},
        {"replies__pk__in": reply_ids},
        {"esp_message_id__in": esp_ids},
    ):
        if any(query.values()):
            delivery = candidates.filter(**query).order_by("-pk").first()
            if delivery is not None:
                return delivery
    return None


def _body_text(message) -> str:
    """The reader's own words: the body the standard library finds (`get_body`, which
    never looks inside an attached or forwarded email, as anymail's `.text` does), its
    plain text, or its HTML as text."""
    plain = message.get_body(preferencelist=("plain",))
    text = plain.get_content_text() if plain is not None else ""
    if not text.strip():
        html = message.get_body(preferencelist=("html",))
        if html is not None:
            text = _html_to_text(html.get_content_text())
    return text or ""


def reply_receive(message, *, esp: str = "", recipients=None, event_id: str = "") -> Reply | None:
    """Store one inbound email addressed to the reply mailbox (`message`: an anymail
    inbound message). None when it was stored already."""
    sender_name, sender = parseaddr(str(message.get("From", "")))
    sender = sender.strip()
    recipients = recipients if recipients is not None else inbound_recipients(message)
    delivery, contact_id = _linked_by_tag(addressed_to_inbox(recipients))
    if contact_id is None:
        delivery = _delivery_by_headers(message, sender)
        contact_id = delivery.contact_id if delivery else None
    if contact_id is None:
        contact_id = (
            Contact.objects.filter(email__iexact=sender).values_list("pk", flat=True).first()
        )
    body = _body_text(message)
    message_id = str(message.get("Message-ID", "") or "").strip()
    if not message_id and event_id:  # the ESP's own id of the email, when it gives one
        message_id = f"{esp}:{event_id}"
    message_id = message_id[:300]
    reply = Reply(
        contact_id=contact_id,
        delivery=delivery,
        mailing_id=delivery.mailing_id if delivery else None,
        step_id=delivery.step_id if delivery else None,
        from_email=sender[:254],
        from_name=(sender_name or "")[:200],
        subject=" ".join(str(message.get("Subject", "") or "").split())[:300],
        text=reply_text(body),
        full_text=body,
        message_id=message_id,
        esp=esp[:40],
    )
    if message_id and Reply.objects.filter(message_id=message_id).exists():
        return None
    attachments = reply_files.attachments_store(message)
    try:
        with transaction.atomic():
            reply.save()
            for attachment in attachments:
                attachment.reply = reply
            ReplyAttachment.objects.bulk_create(attachments)
    except IntegrityError:  # the same email posted twice at once
        reply_files.attachments_discard(attachments)
        return None
    except BaseException:
        reply_files.attachments_discard(attachments)
        raise
    return reply


def inbound_recipients(message) -> list[str]:
    """Every address an inbound email was sent to: To, Cc, the envelope."""
    fields = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        fields += [str(value) for value in message.get_all(name, [])]
    addresses = [address for _name, address in getaddresses(fields) if address]
    envelope = getattr(message, "envelope_recipient", None)
    if envelope:
        addresses.append(envelope)
    return addresses


def is_automatic(message) -> bool:
    """An out-of-office or other machine-written answer (RFC 3834 and the usual marks):
    not a reply the editor needs to read."""
    auto = str(message.get("Auto-Submitted", "") or "").strip().lower()
    precedence = str(message.get("Precedence", "") or "").strip().lower()
    return (
        (auto not in ("", "no"))
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
    )


def inbound_receive(event, *, esp_name: str = "") -> str:
    """One inbound email: « unsubscribed » (the List-Unsubscribe mailbox's token),
    « reply » (stored in the inbox), « duplicate », « automatic » (an out-of-office,
    dropped) or « ignored »."""
    from . import events

    message = event.message
    if message is None:
        return "ignored"
    if events.mailto_unsubscribe(subject=message.get("Subject", "")):
        return "unsubscribed"
    recipients = inbound_recipients(message)
    if not addressed_to_inbox(recipients):
        return "ignored"
    if is_automatic(message):
        return "automatic"
    reply = reply_receive(
        message, esp=esp_name, recipients=recipients, event_id=str(event.event_id or "")
    )
    return "reply" if reply else "duplicate"


# --- the editor's answer ----------------------------------------------------------------


def reply_answer_request(*, reply_id: int, text: str, user=None) -> bool:
    """Record the editor's answer, once: False when the reply has one on its way or sent
    already (a double click, a resubmitted form); an answer refused for good may be
    given again."""
    text = (text or "").strip()
    if not text:
        return False
    return bool(
        Reply.objects.filter(
            pk=reply_id, answer_requested_at__isnull=True, answered_at__isnull=True
        ).update(
            answer=text,
            answered_by=user,
            answer_requested_at=timezone.now(),
            answer_error="",
            read_at=timezone.now(),
        )
    )


def _answer_message(reply: Reply) -> WellFormedEmail:
    from .rendering import sender_address, site_host

    subject = reply.subject or _("Votre message")
    if not re.match(r"^\s*(re|réf|tr)\s*:", subject, re.I):
        subject = f"Re: {subject}"
    headers = {"Message-ID": f"<answer-{reply.pk}@{site_host()}>"}
    if reply.message_id:
        headers["In-Reply-To"] = reply.message_id
        headers["References"] = reply.message_id
    answer_to = reply_address(reply.pk, "r")
    if answer_to:
        headers["Reply-To"] = answer_to
    return WellFormedEmail(
        subject=subject,
        body=reply.answer.rstrip() + "\n",
        from_email=sender_address(),
        to=[reply.from_email],
        headers=headers,
    )


def reply_answer_send(*, reply_id: int) -> bool:
    """Send one recorded answer, at most once: the request is cleared and the send
    recorded before the email leaves; a transient failure gives both back."""
    now = timezone.now()
    with transaction.atomic():
        reply = (
            Reply.objects.select_for_update()
            .filter(pk=reply_id, answer_requested_at__isnull=False)
            .first()
        )
        if reply is None:
            return False  # sent by another run
        reply.answer_requested_at = None
        blocked = not reply.from_email or is_suppressed(reply.from_email)
        if blocked:
            reply.answer_error = _("adresse bloquée : la réponse n’est pas partie")
        else:
            reply.answered_at = now
        reply.save(update_fields=["answer_requested_at", "answered_at", "answer_error"])
    if blocked:
        return False
    try:
        _answer_message(reply).send()
    except Exception as exc:
        failure = SendFailed.of(exc) or SendFailed(REFUSED, str(exc))
        if failure.outcome == RETRY:  # « not now »: the next tick sends it
            Reply.objects.filter(pk=reply.pk, answered_at=now).update(
                answered_at=None, answer_requested_at=timezone.now()
            )
            raise failure from exc
        if failure.outcome == UNKNOWN:  # maybe received: kept as sent, never resent
            error = _(
                "connexion perdue pendant l’envoi : la réponse a peut-être été reçue, "
                "elle ne sera pas renvoyée (%(reason)s)"
            ) % {"reason": failure.reason}
            Reply.objects.filter(pk=reply.pk, answered_at=now).update(answer_error=error[:500])
        else:  # refused for good: the editor sees why
            Reply.objects.filter(pk=reply.pk, answered_at=now).update(
                answered_at=None, answer_error=failure.reason[:500]
            )
        logger.warning("answer to reply %s not sent (%s): %s", reply.pk, failure.outcome, exc)
        return False
    return True


def reply_answers_send() -> int:
    """Every answer still waiting (a failed attempt, a lost request); runs every tick."""
    sent = 0
    for reply_id in Reply.objects.filter(answer_requested_at__isnull=False).values_list(
        "pk", flat=True
    )[:200]:
        try:
            sent += reply_answer_send(reply_id=reply_id)
        except Exception:
            logger.exception("answer to reply %s failed", reply_id)
    return sent
