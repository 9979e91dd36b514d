"""The signup replies' mail connection: one per run, each email built once.

A run of `replies.signup_replies_send` hands its emails to one backend connection,
opened at the first email and reopened after a failure. Each template is rendered
once per list, language and greeting in a worker process (`emails.Renderer`, kept
between runs). Through Django's SMTP backend, the message is also serialised once
(`signups.fastpaths.smtp_envelope_and_bytes`, a fast path): the recipient, the
Message-ID, the Date and the links are filled into its bytes (`config.mail.SlottedBytes`,
as in the mailings' SMTP transport), which go out through the backend's own
`smtplib.SMTP` connection. Any other backend (an ESP,
the tests' locmem), and every backend with `POULS_FASTPATHS` off, gets Django message
objects.
"""

import logging
import re
import smtplib
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.utils import DNS_NAME
from django.utils.html import escape

from config.fastpaths import enabled as fastpaths_enabled
from config.mail import REFUSED, RETRY, UNKNOWN, SendFailed, SlottedBytes

from . import emails, fastpaths

logger = logging.getLogger(__name__)

# The placeholders of a serialised message: a valid address (Django parses the To
# header), and slots that no template, name or list name can contain.
TO_SLOT = "reply-to-slot@pouls.invalid"
_SLOTS = {"MSGID": "<@@MSGID@@>", "DATE": "@@DATE@@"}
# An address carried as it is in the To header and the envelope (anything else, a
# display name, an internationalised address, goes through Django's message).
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def _smtp_hand_over(connection, sender: str, message: bytes, to: str) -> None:
    """MAIL, RCPT and DATA through smtplib's public commands, so that a failure says
    how far the message went: refused before its content (by the answer's code), or
    lost with its content on the way (UNKNOWN: it may have been accepted)."""
    try:
        connection.ehlo_or_helo_if_needed()
        code, reply = connection.mail(sender)
        if code == 250:
            code, reply = connection.rcpt(to)
            code = 250 if code == 251 else code
    except (OSError, smtplib.SMTPException) as exc:  # before the content: nothing left
        raise SendFailed(RETRY, f"SMTP : {exc}") from exc
    if code != 250:
        _refused(connection, code, reply)
    try:
        code, reply = connection.data(message)
    except smtplib.SMTPDataError as exc:  # DATA itself refused: the content never left
        _refused(connection, exc.smtp_code, exc.smtp_error)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(UNKNOWN, f"SMTP : {exc}") from exc
    if code != 250:
        _refused(connection, code, reply)


def _refused(connection, code: int, reply) -> None:
    """The server answered `code`: end the transaction, say whether to try again later."""
    if isinstance(reply, bytes):
        reply = reply.decode(errors="replace")
    try:
        connection.rset()
    except (OSError, smtplib.SMTPException):
        pass  # a 421 closes the connection: the next email opens another
    raise SendFailed(RETRY if 400 <= code < 500 else REFUSED, f"SMTP {code} {reply}")


# Kept from one run to the next in a worker process (bounded: a renamed list or a new
# greeting only adds keys).
_RENDERED: dict = {}
_SERIALISED: dict = {}
CACHE_LIMIT = 256


class Mailer:
    def __init__(self):
        if len(_RENDERED) > CACHE_LIMIT or len(_SERIALISED) > CACHE_LIMIT:
            _RENDERED.clear()
            _SERIALISED.clear()
        self.backend = None
        self.renderer = emails.Renderer(_RENDERED)
        self._serialised = _SERIALISED

    def send(self, *, name: str, to: str, context: dict, language: str) -> None:
        """Send one reply. A failed hand-over raises `SendFailed`, saying what became of
        the email; any failure but a refusal closes the connection (the next email
        opens a new one)."""
        try:
            if self.backend is None:
                self.backend = get_connection()
                self.backend.open()
        except Exception as exc:  # nothing left
            self.close()
            raise SendFailed(RETRY, str(exc)) from exc
        try:
            raw = self._bytes(name, to, context, language)
            if raw is None:
                message = self.renderer.message(
                    name=name, to=to, context=context, language=language, connection=self.backend
                )
                try:
                    message.send()
                except Exception as exc:
                    failure = SendFailed.of(exc)
                    if failure is None:
                        raise
                    raise failure from exc
            else:
                _smtp_hand_over(self.backend.connection, *raw, to)
        except SendFailed as failure:
            if failure.outcome != REFUSED:
                self.close()
            raise
        except Exception:
            self.close()
            raise

    def _bytes(self, name: str, to: str, context: dict, language: str):
        """(envelope sender, message bytes) for the SMTP backend, else None."""
        if (
            not fastpaths_enabled()
            or not isinstance(self.backend, SMTPBackend)
            or not _PLAIN_ADDRESS.fullmatch(to)
        ):
            return None
        key, links = self.renderer.key(name=name, context=context, language=language)
        key = (*key, settings.DEFAULT_FROM_EMAIL, settings.EMAIL_USE_LOCALTIME)
        if any(escape(url) != url for url in links.values()):
            return None  # one slot serves the text and the HTML: the same bytes in both
        if key not in self._serialised:
            self._serialised[key] = self._serialise(name, context, language, links)
        template = self._serialised[key]
        if template is None:
            return None
        sender, slotted = template
        values = {
            TO_SLOT: to,
            _SLOTS["MSGID"]: make_msgid(domain=DNS_NAME),
            _SLOTS["DATE"]: formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
        }
        for link, url in links.items():
            values[emails.link_slot(link)] = url
        return sender, slotted.fill(
            {slot.encode(): value.encode() for slot, value in values.items()}
        )

    def _serialise(self, name: str, context: dict, language: str, links: dict):
        """The message with its slots, serialised as Django's SMTP backend does; None
        when a part is not sent as 8bit (its slots could not be filled in bytes)."""
        message = self.renderer.message(
            name=name,
            to=TO_SLOT,
            context=context,
            language=language,
            slots=True,
            headers={"Message-ID": _SLOTS["MSGID"], "Date": _SLOTS["DATE"]},
        )
        sender, raw = fastpaths.smtp_envelope_and_bytes(message)
        slots = [TO_SLOT, *_SLOTS.values(), *(emails.link_slot(link) for link in links)]
        pattern = re.compile(b"(" + b"|".join(re.escape(slot.encode()) for slot in slots) + b")")
        slotted = SlottedBytes.of(raw, pattern)
        return None if slotted is None else (sender, slotted)

    def close(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            try:
                backend.close()
            except Exception:
                logger.warning("closing the mail connection failed", exc_info=True)
