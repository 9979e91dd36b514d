"""Batch hand-over to an ESP through anymail, a thousand recipients per API call.

anymail builds its payloads one message at a time, which is right for a message
with a few recipients and costly for a batch of a thousand: every recipient address
is parsed again with the email package's header parser, every merge value is
copied to force lazy strings, and Mailgun's form is percent-encoded byte by byte
in Python. Those three steps took three quarters of a worker's CPU in a batch.

The backends here are anymail's own (same settings, session, errors, responses,
signals and webhooks), with a payload that does those steps the cheap way for what
a batch holds: addresses email-validator already normalised at signup (plain ASCII
ones are split at the « @ », anything else still goes through anymail's parser),
merge values that are plain strings already, and for Mailgun a multipart form
(which its API accepts, as anymail sends it with attachments) instead of a
percent-encoded one. What reaches the ESP carries the same fields and values; the
tests compare both payloads.

`batch_backend_path(EMAIL_BACKEND)` names the batch twin of a configured backend,
or returns None for an ESP without one (anymail's own payload is then used).
"""

import re
import secrets

from anymail.backends import mailgun, sendgrid
from anymail.backends.base import BasePayload
from anymail.utils import (
    UNSET,
    EmailAddress,
    concat_lists,
    merge_dicts_one_level,
    parse_address_list,
)

# An ASCII dot-atom addr-spec: no quoting, no comments, no display name, no IDN.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\Z"
)


class PlainAddress(EmailAddress):
    """anymail's EmailAddress for an ASCII dot-atom addr-spec without display name,
    made by splitting it rather than parsing it: every way anymail formats it gives
    the addr-spec itself."""

    def __init__(self, addr_spec: str):
        self._display_name = ""
        self._username, self._domain = addr_spec.rsplit("@", 1)
        self._addr_spec = addr_spec

    @property
    def addr_spec(self):
        return self._addr_spec

    @property
    def address(self):
        return self._addr_spec

    def format(self, *, use_rfc2047=False, idna_encode=None):
        return self._addr_spec

    def format_addr_spec(self, *, idna_encode=None):
        return self._addr_spec

    def __str__(self):
        return self._addr_spec


def batch_addresses(values, field=None) -> list[EmailAddress]:
    """anymail's `parse_address_list` for a batch's `to`: the plain addresses are split,
    the others (a display name, an internationalised part) parsed by anymail."""
    parsed = []
    for value in values:
        if isinstance(value, str) and _PLAIN_ADDRESS.match(value):
            parsed.append(PlainAddress(value))
        else:
            parsed.extend(parse_address_list([value], field=field))
    return parsed


def _own_or_merged(default, value):
    """The message's own per-recipient dicts, not copied, when no settings default is
    merged into them (a batch's case); otherwise anymail's merge."""
    if default is UNSET and isinstance(value, dict):
        return value
    return merge_dicts_one_level(default, value)


def _replaced(attrs, replacements):
    return tuple(
        replacements.get(attr, (attr, combiner, converter)) for attr, combiner, converter in attrs
    )


class BatchPayloadMixin:
    """The attribute table of anymail's payloads, with the batch's cheap steps."""

    base_message_attrs = _replaced(
        BasePayload.base_message_attrs, {"to": ("to", concat_lists, "batch_to")}
    )
    anymail_message_attrs = _replaced(
        BasePayload.anymail_message_attrs,
        {
            # No converter: a batch's merge values are plain str already.
            "merge_data": ("merge_data", _own_or_merged, None),
            "merge_metadata": ("merge_metadata", _own_or_merged, None),
        },
    )

    def batch_to(self, values):
        return batch_addresses(values, field="to")


def _field_name(name: str) -> str:
    """A form field name in a Content-Disposition header (RFC 7578 § 4.2, as browsers)."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def multipart_form(fields: dict) -> tuple[bytes, str]:
    """`{name: value or [values]}` as a multipart/form-data body and its content type:
    the bytes are joined, never escaped one by one."""
    values = [
        (_field_name(name), value if isinstance(value, str) else str(value))
        for name, field in fields.items()
        for value in (field if isinstance(field, list) else [field])
    ]
    boundary = secrets.token_hex(16)
    while any(boundary in value for _name, value in values):  # astronomically rare
        boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in values
    ]
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode(), f"multipart/form-data; boundary={boundary}"


class MailgunBatchPayload(BatchPayloadMixin, mailgun.MailgunPayload):
    def get_request_params(self, api_url):
        """The same fields as a multipart form: no per-byte percent-encoding. (With
        attachments, requests' own multipart encoder, as anymail does.)"""
        params = super().get_request_params(api_url)
        if not params.get("files"):
            params["data"], content_type = multipart_form(params["data"])
            params["headers"] = {**(params.get("headers") or {}), "Content-Type": content_type}
        return params


class SendGridBatchPayload(BatchPayloadMixin, sendgrid.SendGridPayload):
    pass


class MailgunBatchBackend(mailgun.EmailBackend):
    def build_message_payload(self, message, defaults):
        return MailgunBatchPayload(message, defaults, self)


class SendGridBatchBackend(sendgrid.EmailBackend):
    def build_message_payload(self, message, defaults):
        return SendGridBatchPayload(message, defaults, self)


BATCH_BACKENDS = {
    "anymail.backends.mailgun.EmailBackend": f"{__name__}.MailgunBatchBackend",
    "anymail.backends.sendgrid.EmailBackend": f"{__name__}.SendGridBatchBackend",
}


def batch_backend_path(email_backend: str) -> str | None:
    return BATCH_BACKENDS.get(email_backend)
