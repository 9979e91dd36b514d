"""SMTP: prebuilt bytes per recipient over one connection, pipelined (RFC 2920) when
the server offers it."""

import re
import smtplib
from email.utils import formatdate, parseaddr

from django.utils.translation import gettext as _

from .. import rendering
from . import Outcomes, Transport, message_key, recipient_values


class SMTPTransport(Transport):
    """Django's SMTP backend (or a subclass) opens and authenticates the connection;
    the messages go out through its `smtplib.SMTP` object."""

    def send(self, chunk, messages, outcomes: Outcomes, handover) -> None:
        backend = self.backend
        try:
            backend.open()
            backend.connection.ehlo_or_helo_if_needed()
        except (OSError, smtplib.SMTPException) as exc:
            for row in chunk:
                outcomes.retry.append((row["id"], row["attempts"], f"SMTP : {exc}"))
            return
        if backend.connection.has_extn("pipelining"):
            _send_pipelined(backend, chunk, messages, outcomes, handover)
        else:
            _send_plain(backend, chunk, messages, outcomes, handover)


def _smtp_code(exc) -> int:
    return getattr(exc, "smtp_code", 0) or 0


def _smtp_refusal(outcomes: Outcomes, row, code: int, reason) -> None:
    if isinstance(reason, bytes):
        reason = reason.decode(errors="replace")
    reason = f"{code} {reason}"
    if 400 <= code < 500:
        outcomes.retry.append((row["id"], row["attempts"], reason))
    else:
        outcomes.failed.append((row["id"], reason))


def _send_plain(backend, chunk, messages, outcomes: Outcomes, handover) -> None:
    sender = backend.connection
    make = rendering.recipient_values_maker(formatdate(usegmt=True))
    envelope = {key: parseaddr(rendered.from_email)[1] for key, rendered in messages.items()}
    for index, row in enumerate(chunk):
        if not handover.reach(index):
            continue
        key = message_key(row)
        rendered = messages[key]
        values = recipient_values(row, make)
        envelope_from = envelope[key]
        try:
            sender.sendmail(envelope_from, [values["TO"]], rendered.personal_bytes(values))
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            _smtp_refusal(outcomes, row, code, reason)
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            _smtp_refusal(outcomes, row, _smtp_code(exc), str(exc))
        except (OSError, smtplib.SMTPException) as exc:
            # The connection broke while this message was on the wire: it may have
            # been accepted. The rest of the chunk was never handed over.
            outcomes.unknown.append((row["id"], f"SMTP : {exc}"))
            outcomes.untouched.extend(r["id"] for r in chunk[index + 1 :])
            backend.connection = None
            return
        else:
            outcomes.sent.append((row["id"], values["MSGID"].strip("<>")))


def _envelope(row, rendered, from_address: str) -> bytes | None:
    """MAIL, RCPT and DATA of one message, or None for an address SMTP cannot carry."""
    to = row["contact__email"]
    if not to.isascii() or any(c in to for c in "\r\n<>") or not from_address.isascii():
        return None
    return f"MAIL FROM:<{from_address}>\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode()


def _dot_stuffed(data: bytes) -> bytes:
    if data.startswith(b".") or b"\n." in data:
        data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


class _Pipeline:
    """One pipelined connection's state: the bytes waiting to be written (a message's
    content and end-of-data), the row whose content was written and whose end-of-data
    reply is unread, and whether a refused transaction must be reset first."""

    def __init__(self, sender, outcomes: Outcomes):
        self.sender = sender
        self.outcomes = outcomes
        self.pending = b""
        self.in_flight = None  # (row, message id)
        self.reset = False

    def settle_in_flight(self) -> None:
        row, message_id = self.in_flight
        code, reply = self.sender.getreply()
        if code == 250:
            self.outcomes.sent.append((row["id"], message_id))
        else:
            _smtp_refusal(self.outcomes, row, code, reply)
        self.in_flight = None

    def transaction(self, commands: bytes) -> list:
        """Write what waits with this message's MAIL, RCPT and DATA (after an RSET if the
        last transaction was refused); settle the message in flight; return the replies
        to MAIL, RCPT and DATA."""
        if self.reset:
            commands = b"RSET\r\n" + commands
        self.sender.send(self.pending + commands)
        self.pending = b""
        if self.in_flight is not None:
            self.settle_in_flight()
        if self.reset:
            self.sender.getreply()
            self.reset = False
        return [self.sender.getreply() for _i in range(3)]

    def refused(self, row, replies: list) -> None:
        """The first refusal among MAIL, RCPT and DATA is the row's outcome."""
        self.reset = True
        for (code, reply), accepted in zip(replies, ((250,), (250, 251)), strict=False):
            if code not in accepted:
                _smtp_refusal(self.outcomes, row, code, reply)
                return
        _smtp_refusal(self.outcomes, row, *replies[2])

    def finish(self) -> None:
        if self.pending:
            self.sender.send(self.pending)
            self.pending = b""
            self.settle_in_flight()
        if self.reset:  # the connection serves the next chunk: leave it between transactions
            self.sender.rset()


def _send_pipelined(backend, chunk, messages, outcomes: Outcomes, handover) -> None:
    """ESMTP PIPELINING: each write carries one message's content and end-of-data
    together with the next message's MAIL, RCPT and DATA, so a message costs one
    round trip instead of four. Replies are read in order: a refusal concerns one
    message only, as with smtplib; a broken connection makes the message whose
    content was sent unknown and leaves the ones not yet sent untouched."""
    pipe = _Pipeline(backend.connection, outcomes)
    make = rendering.recipient_values_maker(formatdate(usegmt=True))
    envelope = {key: parseaddr(rendered.from_email)[1] for key, rendered in messages.items()}
    started = 0  # rows before this one are settled (or were skipped as not sendable)
    try:
        for index, row in enumerate(chunk):
            key = message_key(row)
            commands = _envelope(row, messages[key], envelope[key])
            if commands is None:
                outcomes.failed.append((row["id"], _("adresse refusée par SMTP")))
            elif handover.reach(index):  # else no longer ours: skipped
                values = recipient_values(row, make)
                data = _dot_stuffed(messages[key].personal_bytes(values))
                replies = pipe.transaction(commands)
                if replies[2][0] == 354:
                    pipe.pending = data
                    pipe.in_flight = (row, values["MSGID"].strip("<>"))
                else:
                    pipe.refused(row, replies)
            started = index + 1
        pipe.finish()
    except (OSError, smtplib.SMTPException) as exc:
        # The message whose content went out may have been accepted; the rest of the
        # chunk was never handed over.
        if pipe.in_flight is not None:
            outcomes.unknown.append((pipe.in_flight[0]["id"], f"SMTP : {exc}"))
        outcomes.untouched.extend(r["id"] for r in chunk[started:])
        backend.connection = None
