"""ESP batch sending: one anymail API call per message and chunk, with per-recipient
merge data, metadata and headers (`MAIL_ESP_BATCH`)."""

from collections import defaultdict
from email.utils import formatdate

from anymail.exceptions import AnymailError
from anymail.message import AnymailMessage
from django.conf import settings

from .. import rendering
from . import Outcomes, Transport, message_key, recipient_values, transient


class ESPBatchTransport(Transport):
    #: The whole chunk goes out in one call: journalled at once.
    journal_step = None

    def send(self, chunk, messages, outcomes: Outcomes, handover) -> None:
        # One Date for the chunk (the ESP sets its own).
        make = rendering.recipient_values_maker(formatdate(usegmt=True))
        by_key = defaultdict(list)
        for index, row in enumerate(chunk):
            if handover.reach(index):
                by_key[message_key(row)].append(row)
        for key, rows in by_key.items():
            recipients = {row["contact__email"]: (row, recipient_values(row, make)) for row in rows}
            message = _batch_message(self.backend, messages[key], recipients)
            try:
                self.backend.send_messages([message])
            except AnymailError as exc:
                _record_error(exc, recipients, outcomes)
            else:
                _record_statuses(message, recipients, outcomes)


def _esp_fields(text: str) -> str:
    """`@@NAME@@` placeholders as the ESP's merge fields (MAIL_ESP_MERGE_FIELD)."""
    merge_field = settings.MAIL_ESP_MERGE_FIELD
    return rendering.PLACEHOLDER.sub(lambda m: merge_field.format(m.group(1).lower()), text)


def _batch_message(backend, rendered, recipients: dict) -> AnymailMessage:
    """One message for every recipient of the chunk ({email: (row, values)}), with the
    merge data its text and HTML use, and its metadata."""
    recipients = {
        email: (row, rendered.with_links(values)) for email, (row, values) in recipients.items()
    }
    # Merge data: only the values the text and HTML use.
    used = sorted(set(rendering.PLACEHOLDER.findall(rendered.text + rendered.html)))
    merge_keys = [(name, name.lower()) for name in used]
    message = AnymailMessage(
        subject=rendered.subject,
        body=_esp_fields(rendered.text),
        from_email=rendered.from_email,
        to=list(recipients),
        connection=backend,
    )
    message.attach_alternative(_esp_fields(rendered.html), "text/html")
    message.tags = [rendered.key]
    message.metadata = rendered.metadata
    message.track_opens = settings.MAIL_TRACK_OPENS
    # Clicks are tracked by the site (MAIL_TRACK_CLICKS) or not at all, never by the ESP.
    message.track_clicks = False
    message.merge_data = {
        email: {key: values[name] for name, key in merge_keys}
        for email, (_row, values) in recipients.items()
    }
    message.merge_metadata = {
        email: {"delivery_id": values["DID"]} for email, (_r, values) in recipients.items()
    }
    _set_headers(message, rendered, recipients)
    return message


def _set_headers(message: AnymailMessage, rendered, recipients: dict) -> None:
    """Headers the same for everyone as extra headers; the personal ones as merge headers."""
    headers = {name: value for name, value in rendered.headers().items() if name != "Date"}
    message.extra_headers = {
        name: value for name, value in headers.items() if not rendering.PLACEHOLDER.search(value)
    }
    personal = {  # `@@NAME@@` → `{NAME}`: one format_map per header and recipient
        name: rendering.PLACEHOLDER.sub(
            r"{\1}", value.replace("{", "{{").replace("}", "}}")
        ).format_map
        for name, value in headers.items()
        if name not in message.extra_headers
    }
    filled = {
        name: [fill(values) for _row, values in recipients.values()]
        for name, fill in personal.items()
    }
    for name, column in list(filled.items()):
        if len(set(column)) == 1:  # the same for everyone in the chunk (List-Id, often)
            message.extra_headers[name] = column[0]
            del filled[name]
    message.merge_headers = {
        email: {name: column[index] for name, column in filled.items()}
        for index, email in enumerate(recipients)
    }


def _record_error(exc: AnymailError, recipients: dict, outcomes: Outcomes) -> None:
    """The call failed: retried (a transient answer), failed (any other answer), or
    unknown (no answer: the ESP may have accepted the batch)."""
    for row, _unused in recipients.values():
        if transient(exc) and getattr(exc, "status_code", None):
            outcomes.retry.append((row["id"], row["attempts"], str(exc)))
        elif getattr(exc, "status_code", None):
            outcomes.failed.append((row["id"], str(exc)))
        else:  # no answer from the ESP: it may have accepted the batch
            outcomes.unknown.append((row["id"], str(exc)))


def _record_statuses(message: AnymailMessage, recipients: dict, outcomes: Outcomes) -> None:
    """Each recipient's outcome as the ESP reported it, with its own message id."""
    for email, (row, _unused) in recipients.items():
        status = message.anymail_status.recipients.get(email)
        if status is None or status.status in ("rejected", "failed", "invalid"):
            outcomes.failed.append((row["id"], str(status.status if status else "inconnu")))
        else:
            outcomes.sent.append((row["id"], str(status.message_id or "").strip("<>")))
