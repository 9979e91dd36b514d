"""How a chunk of claimed deliveries reaches the mail server, behind one interface.

`transport_for()` picks one by what the email backend is (`isinstance`), so a subclass
of Django's SMTP backend (DKIM signing, a vendor's) keeps the pipelined path:

- `smtp.SMTPTransport`: prebuilt bytes per recipient over one connection, ESMTP
  PIPELINING when the server offers it;
- `esp_batch.ESPBatchTransport`: one anymail API call per message and chunk, with
  per-recipient merge data (`MAIL_ESP_BATCH`);
- `django_backend.DjangoBackendTransport`: any other backend, one message at a time.

A transport only says what became of each row (`Outcomes`); the outbox records it.
"""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import get_connection

from config import fastpaths
from config.mail import retry_status

from .. import abtest, rendering
from ..fastpaths import esp
from ..models import Mailing, Step, Variant

logger = logging.getLogger(__name__)


@dataclass
class Outcomes:
    """What happened to each row of a chunk, by the transport's own account."""

    sent: list[tuple[int, str]] = field(default_factory=list)  # (id, ESP message id)
    failed: list[tuple[int, str]] = field(default_factory=list)  # (id, reason)
    retry: list[tuple[int, int, str]] = field(default_factory=list)  # (id, attempts, reason)
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (id, reason)
    untouched: list[int] = field(default_factory=list)  # never handed over


class Transport:
    """Hands chunks over through one email backend (one connection for a batch)."""

    #: Rows the hand-over journal covers ahead of the position reached: 0 for
    #: MAIL_HANDOVER_STEP, None for the whole chunk at once (one call sends it all).
    journal_step: int | None = 0

    def __init__(self, backend):
        self.backend = backend

    def send(self, chunk: list[dict], messages: dict, outcomes: Outcomes, handover) -> None:
        """Hand `chunk` over, filling `outcomes`. Before the content of the row at
        `index` starts out, call `handover.reach(index)`: it journals the position (and
        keeps the lease) and is false when the row is no longer this worker's."""
        raise NotImplementedError

    def close(self) -> None:
        try:
            self.backend.close()
        except Exception:  # closing a dead connection must not hide the real error
            logger.warning("closing the mail connection failed", exc_info=True)


def transport_for(*, esp_batch: bool = False) -> Transport:
    """The transport for `EMAIL_BACKEND` (its batch twin when `esp_batch`)."""
    from anymail.backends.base import AnymailBaseBackend
    from django.core.mail.backends.smtp import EmailBackend as SMTPBackend

    from .django_backend import DjangoBackendTransport
    from .esp_batch import ESPBatchTransport
    from .smtp import SMTPTransport

    # The batch twin of anymail's backend is a fast path; off, anymail's own backend.
    batch_twin = None
    if esp_batch and fastpaths.enabled():
        batch_twin = esp.batch_backend_path(settings.EMAIL_BACKEND)
    backend = get_connection(batch_twin, fail_silently=False)
    if isinstance(backend, SMTPBackend):
        return SMTPTransport(backend)
    if esp_batch and isinstance(backend, AnymailBaseBackend):
        return ESPBatchTransport(backend)
    return DjangoBackendTransport(backend)


def message_key(row) -> tuple[str, str]:
    """(message key, chrome language) of a claimed row: which rendering it receives."""
    message = f"mailing-{row['mailing_id']}" if row["mailing_id"] else f"step-{row['step_id']}"
    if row.get("variant_id"):
        message += f":{row['variant_id']}"
    return message, row.get("contact__language") or settings.LANGUAGE_CODE


def messages_render(rows) -> dict:
    """Each message rendered once per language present in the batch (its chrome is in
    the reader's language), keyed like `message_key`."""
    mailing_ids = {row["mailing_id"] for row in rows if row["mailing_id"]}
    step_ids = {row["step_id"] for row in rows if row["step_id"]}
    objects = {m.message_key: m for m in Mailing.objects.filter(pk__in=mailing_ids)}
    objects.update({s.message_key: s for s in Step.objects.filter(pk__in=step_ids)})
    variant_ids = {row["variant_id"] for row in rows if row.get("variant_id")}
    for variant in Variant.objects.filter(pk__in=variant_ids).select_related("mailing"):
        # An A/B test's subject: the same mailing under its own subject.
        objects[f"mailing-{variant.mailing_id}:{variant.pk}"] = abtest.variant_message(
            variant.mailing, variant
        )
    return {
        (key, language): rendering.render_message(objects[key], language)
        for key, language in {message_key(row) for row in rows}
        if key in objects
    }


def recipient_values(row, make) -> dict:
    """A claimed row's values, by `make` (a `rendering.recipient_values_maker`)."""
    return make(
        delivery_id=row["id"],
        email=row["contact__email"],
        first_name=row["contact__first_name"],
        subscription_id=row["subscription_id"],
        contact_id=row["contact_id"],
        list_slug=row["subscription__mailing_list__slug"],
        list_name=row["subscription__mailing_list__name"],
        track_clicks=not row.get("contact__click_tracking_refused"),
    )


def transient(exc) -> bool:
    """An ESP error worth retrying (no status, 429 or 5xx)."""
    return retry_status(getattr(exc, "status_code", None))
