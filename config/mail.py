"""Email plumbing shared by every app: well-formed messages, a message serialised once
and filled in per recipient, what a failed hand-over means for its message, and the
embedded backend that writes each message as one .eml file under var/mail/."""

import email.message
import os
import re
import smtplib
import uuid
from email.header import Header
from email.policy import Compat32
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class _Policy(Compat32):
    """Python folds a long ASCII header (List-Unsubscribe with its token) right
    after the colon, which parsers read back with a leading space; such headers
    fit on one line (RFC 5322 allows 998 characters). Every other header is
    folded by the standard policy. `fold` and `fold_binary` are the policy's
    public hooks (the generators call them), so this is no copy of its internals."""

    def _one_line(self, name, value) -> str | None:
        if isinstance(value, str) and value.isascii() and len(name) + len(value) < 990:
            return f"{name}: {value}{self.linesep}"
        return None

    def fold(self, name, value):
        return self._one_line(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        line = self._one_line(name, value)
        return line.encode("ascii") if line else super().fold_binary(name, value)


MESSAGE_POLICY = _Policy()


class WellFormedEmail(EmailMultiAlternatives):
    """The message class of every email Pouls sends.

    Django folds a long encoded subject right after « Subject: », which parsers
    read back with a leading space: encode it knowing the header's name instead."""

    def message(self, *args, **kwargs):
        msg = super().message(*args, **kwargs)
        msg.policy = MESSAGE_POLICY
        if not self.subject.isascii():
            del msg["Subject"]
            # Message.__setitem__, not Django's override that would re-encode it.
            email.message.Message.__setitem__(
                msg, "Subject", Header(self.subject, "utf-8", header_name="Subject")
            )
        return msg


# What a failed hand-over means for its message (`failure_outcome`).
RETRY = "retry"  # the server or ESP said « not now », or nothing left: send it later
REFUSED = "refused"  # it said no for good: never send it again
UNKNOWN = "unknown"  # it may have been accepted: never send it again


class SendFailed(Exception):
    """A message that did not go out as asked; `outcome` says whether it may be sent
    later (RETRY), never (REFUSED), or may already have arrived (UNKNOWN)."""

    def __init__(self, outcome: str, reason: str):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason

    @classmethod
    def of(cls, exc: BaseException) -> "SendFailed | None":
        """The failure `exc` stands for, or None when it is no sending error (a bug)."""
        outcome = failure_outcome(exc)
        return None if outcome is None else cls(outcome, str(exc))


def retry_status(status: int | None) -> bool:
    """An ESP's answer worth retrying: none (the request failed before any), 429 or 5xx."""
    return status is None or status == 429 or status >= 500


def failure_outcome(exc: BaseException) -> str | None:
    """What `exc`, raised while an email backend handed a message over, means for that
    message: RETRY, REFUSED or UNKNOWN; None when it is not a sending error at all.

    An answer of the server (an SMTP reply code, an ESP's HTTP status) says whether the
    message was refused; a connection lost without an answer leaves it unknown: it may
    have been accepted, so it is never silently sent again."""
    from anymail.exceptions import AnymailError, AnymailRecipientsRefused

    if isinstance(exc, AnymailError):
        if isinstance(exc, AnymailRecipientsRefused | ValueError | TypeError):
            return REFUSED  # refused, or a message anymail cannot express: the same again
        return RETRY if retry_status(getattr(exc, "status_code", None)) else REFUSED
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in exc.recipients.values()]
        return RETRY if any(400 <= code < 500 for code in codes) else REFUSED
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):  # it answered
        return RETRY if 400 <= exc.smtp_code < 500 else REFUSED
    if isinstance(exc, smtplib.SMTPResponseException):
        return RETRY  # the connection refused (greeting, login): the message never started
    if isinstance(exc, (OSError, smtplib.SMTPException)):
        return UNKNOWN
    return None


class SlottedBytes:
    """A message serialised once with slots where recipients differ (address, links,
    Message-ID, date…), each recipient's bytes one join of its parts and that
    recipient's values. Used by the mailings' SMTP transport (mailings.rendering) and
    the signup replies (signups.sending)."""

    def __init__(self, raw: bytes, slots: re.Pattern):
        """`slots` matches every slot with one group: the key of its value."""
        parts = slots.split(raw)
        self._head = parts[0]
        self._rest = list(zip(parts[1::2], parts[2::2], strict=True))

    @classmethod
    def of(cls, raw: bytes, slots: re.Pattern) -> "SlottedBytes | None":
        """None when a part is not sent as 8bit: in quoted-printable or base64 a slot
        is no longer the bytes it was (a line too long, say), so it cannot be filled."""
        if re.search(rb"Content-Transfer-Encoding: (quoted-printable|base64)", raw):
            return None
        return cls(raw, slots)

    def fill(self, values: dict[bytes, bytes]) -> bytes:
        out = [self._head]
        for slot, text in self._rest:
            out.append(values[slot])
            out.append(text)
        return b"".join(out)


class EmlFileBackend(BaseEmailBackend):
    """Write every message as a standalone RFC 5322 file that any mail client opens."""

    def __init__(self, *, file_path=None, **kwargs):
        super().__init__(**kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages):
        if not email_messages:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            target = self.directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
            partial = target.with_suffix(".part")
            try:
                partial.write_bytes(message.message().as_bytes())
                os.replace(partial, target)  # readers never see half a message
            except OSError:
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent
