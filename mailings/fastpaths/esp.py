"""Batch hand-over to an ESP through anymail, a thousand recipients per API call.

A fast path (config/fastpaths.py), checked against django-anymail 15.2: it mirrors
`anymail.backends.base.BasePayload` (its `base_message_attrs` and
`anymail_message_attrs` tables), `anymail.utils.EmailAddress` (its private
attributes), `MailgunPayload.get_request_params` and
`SendGridPayload.serialize_data`. With `POULS_FASTPATHS` off the batch goes
through anymail's own backend (`mailings.transports.transport_for`).

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

import os
import re
import secrets
import uuid

from anymail.backends import mailgun, sendgrid
from anymail.backends.base import BasePayload
from anymail.exceptions import AnymailSerializationError
from anymail.utils import (
    BASIC_NUMERIC_TYPES,
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


def _substitution(value):
    """A SendGrid legacy substitution value, as anymail converts it: strings and None
    as they are, numbers as strings, anything else refused."""
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, BASIC_NUMERIC_TYPES):
        return str(value)
    raise AnymailSerializationError(
        "SendGrid legacy substitutions require string values."
        f" Don't know how to handle {type(value).__name__}."
    )


class SendGridBatchPayload(BatchPayloadMixin, sendgrid.SendGridPayload):
    def serialize_data(self):
        """anymail's batch serialisation in one pass over the recipients: each one's
        personalization (address, substitutions, custom args with its anymail_id,
        headers) is built once, where anymail walks the whole list five times, copying
        and converting on each walk. Templates (dynamic data) and merge fields without
        a format (anymail warns about them) keep anymail's own path."""
        if (
            not self.is_batch()
            or self.use_dynamic_template
            or self.merge_field_format is None
            or len(self.data["personalizations"]) != 1
        ):
            return super().serialize_data()
        base = self.data["personalizations"].pop()
        recipients = base.pop("to")
        field = self.merge_field_format.format
        global_data, merge_data = self.merge_global_data, self.merge_data
        merge_metadata, merge_headers = self.merge_metadata, self.merge_headers
        transform_metadata = self.transform_metadata
        anymail_ids = os.urandom(16 * len(recipients)) if self.generate_message_id else b""
        personalizations = self.data["personalizations"]
        for index, recipient in enumerate(recipients):
            email = recipient["email"]
            personalization = base.copy()
            personalization["to"] = [recipient]
            data = merge_data.get(email)
            if global_data:
                data = {**global_data, **(data or {})}
            if data:
                personalization["substitutions"] = {
                    field(name): value if type(value) is str else _substitution(value)
                    for name, value in data.items()
                }
            if metadata := merge_metadata.get(email):
                personalization["custom_args"] = transform_metadata(metadata)
            if headers := merge_headers.get(email):
                personalization["headers"] = headers
            if anymail_ids:
                anymail_id = str(
                    uuid.UUID(bytes=anymail_ids[16 * index : 16 * index + 16], version=4)
                )
                personalization.setdefault("custom_args", {})["anymail_id"] = anymail_id
                for address in (
                    personalization["to"]
                    + personalization.get("cc", [])
                    + personalization.get("bcc", [])
                ):
                    self.message_ids[address["email"]] = anymail_id
            personalizations.append(personalization)
        if not self.data["headers"]:
            del self.data["headers"]  # as anymail: no empty headers
        return self.serialize_json(self.data)


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
