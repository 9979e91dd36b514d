"""The public actions on mailings that the admin, views and tasks call.

Where the rest lives: the exactly-once protocol (claim, journal, hand-over, record,
recover) in `outbox.py`, the ways to the mail server in `transports/`, sequences in
`sequences.py`, what a batch reads of each reader in `recipients.py`.
"""

import logging

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Min
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.links import absolute
from signups.models import Contact

from . import abtest, rendering
from .chains import outbox_wake
from .models import Delivery, Mailing
from .outbox import (  # noqa: F401 — public actions of the outbox
    handover_lock,
    in_handover,
    mailings_finish,
    outbox_recover,
    outbox_send_batch,
)
from .sequences import (  # noqa: F401 — public actions of sequences
    deliveries_cancel_pending,
    enrolment_start,
    enrolments_advance,
    enrolments_stop,
    sequence_activate,
    sequence_deactivate,
    sequence_reschedule,
)

logger = logging.getLogger(__name__)
S = Delivery.Status


# --- mailings: schedule, cancel, dispatch ------------------------------------


class ScheduleError(ValueError):
    """A mailing that cannot be scheduled as it is; the message is for the editor."""


@transaction.atomic
def mailing_schedule(*, mailing: Mailing) -> Mailing:
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if not mailing.is_editable:
        raise ScheduleError(
            _("Ce mailing est déjà parti ou annulé : il ne peut plus être programmé.")
        )
    if not (mailing.send_date and mailing.send_time):
        raise ScheduleError(_("Indiquez la date et l’heure d’envoi avant de programmer."))
    if not mailing.lists.exists():
        raise ScheduleError(_("Choisissez au moins une liste de destinataires."))
    mailing.scheduled_at = mailing.send_at()
    mailing.status = Mailing.Status.SCHEDULED
    mailing.save(update_fields=["scheduled_at", "status", "updated_at"])
    return mailing


@transaction.atomic
def mailing_unschedule(*, mailing: Mailing) -> Mailing:
    """Back to draft, before dispatch; nothing was written for recipients yet."""
    updated = Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SCHEDULED).update(
        status=Mailing.Status.DRAFT, scheduled_at=None
    )
    if not updated:
        raise ScheduleError(_("Ce mailing n’est pas programmé."))
    return Mailing.objects.get(pk=mailing.pk)


@transaction.atomic
def mailing_cancel(*, mailing: Mailing) -> int:
    """Cancel before or during sending. Rows already handed over stay as they are.

    Returns how many deliveries were cancelled."""
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status in (Mailing.Status.SENT, Mailing.Status.CANCELLED):
        raise ScheduleError(_("Ce mailing est terminé : il n’y a plus rien à annuler."))
    mailing.status = Mailing.Status.CANCELLED
    mailing.cancelled_at = timezone.now()
    mailing.save(update_fields=["status", "cancelled_at", "updated_at"])
    handover_lock(exclusive=True)  # rows being handed over right now stay as they are
    return (
        mailing.deliveries.filter(status__in=(S.PENDING, S.CLAIMED, S.PAUSED))
        .exclude(in_handover())
        .update(status=S.CANCELLED, error=_("annulé par l’éditeur"))
    )


def mailing_dispatch(*, mailing_id: int, chunk: int = 100_000) -> int:
    """Write one delivery row per recipient, set-based, then queue the sending.

    Recipients are taken in contact-id ranges (keyset), each range one
    INSERT … SELECT: nothing about them passes through Python. The whole dispatch
    is one transaction, so a crash leaves the mailing scheduled for the next tick;
    two ticks never dispatch the same mailing (the row is locked, SKIP LOCKED)."""
    written = 0
    with transaction.atomic():
        mailing = (
            Mailing.objects.select_for_update(skip_locked=True)
            .filter(pk=mailing_id, status=Mailing.Status.SCHEDULED)
            .first()
        )
        if mailing is None:
            return 0
        now = timezone.now()
        audience = mailing.audience()
        bounds = audience.aggregate(low=Min("contact_id"))
        high = audience.order_by("-contact_id").values_list("contact_id", flat=True).first()
        zones = [None]
        if mailing.local_time:
            zones = list(
                audience.values_list("contact__time_zone", flat=True).distinct().order_by()
            )
        columns = "mailing_id, not_before, created_at, contact_id, subscription_id"
        skip_existing = mailing.deliveries.exists()
        if mailing.ab_winner_id is None and abtest.is_ab(mailing):
            # An A/B test: only its share now; the tick sends the winner to the rest.
            if not skip_existing:
                written = abtest.insert_test_rows(mailing=mailing, audience=audience, now=now)
        elif bounds["low"] is not None:
            for time_zone in zones:
                not_before = mailing.local_send_at(time_zone) if time_zone else None
                low = bounds["low"] - 1
                while low < high:
                    recipients = audience.filter(contact_id__gt=low, contact_id__lte=low + chunk)
                    if time_zone:
                        recipients = recipients.filter(contact__time_zone=time_zone)
                    recipients = (
                        recipients.values("contact_id")
                        .annotate(subscription_id=Min("id"))
                        .order_by("contact_id")  # sorted inserts keep the indexes warm
                    )
                    written += Delivery.objects.insert_select(
                        recipients,
                        columns,
                        [mailing.pk, not_before, now],
                        skip_existing=skip_existing,
                    )
                    low += chunk
        mailing.status = Mailing.Status.SENDING
        mailing.dispatched_at = now
        mailing.recipient_count = mailing.deliveries.count() if skip_existing else written
        mailing.save(update_fields=["status", "dispatched_at", "recipient_count", "updated_at"])
        if written > 10_000 and db_connection.vendor == "postgresql":
            # Fresh statistics before the workers' first claim: with the table's old
            # ones the planner scans every delivery row to find a batch's 1,000.
            with db_connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Delivery._meta.db_table}")
        transaction.on_commit(outbox_wake)
    logger.info("mailing %s dispatched: %s deliveries", mailing_id, written)
    return written


def mailings_dispatch_due() -> int:
    """Tick handler: queue the dispatch of every mailing whose time has come."""
    from .tasks import dispatch_mailing

    due = list(Mailing.objects.due().values_list("pk", flat=True))
    for pk in due:
        dispatch_mailing.delay_on_commit(pk)
    return len(due)


# --- preview and test sends ----------------------------------------------------


def message_preview(*, message, contact: Contact, language: str = "") -> tuple[str, str]:
    """HTML and text of `message` (a Mailing or a Step) as `contact` would see it, the
    chrome in `language` when given, else in the contact's."""
    subscriptions = contact.subscriptions.select_related("mailing_list").order_by("pk")
    # A step is seen with the links of its sequence's list, when the contact is on it.
    list_id = getattr(getattr(message, "sequence", None), "mailing_list_id", None)
    subscription = (
        list_id and subscriptions.filter(mailing_list_id=list_id).first()
    ) or subscriptions.first()
    values = rendering.recipient_values(
        delivery_id=None,
        email=contact.email or "",
        first_name=contact.first_name,
        subscription_id=subscription.pk if subscription else 0,
        contact_id=contact.pk,
        list_slug=subscription.mailing_list.slug if subscription else "preview",
        list_name=subscription.mailing_list.name if subscription else "",
    )
    return rendering.render_message(message, language or contact.language).preview(values)


def message_send_test(*, message, email: str, first_name: str = "", language: str = "") -> None:
    """Send `message` to the editor, marked as a test, the chrome in `language` (the
    site's default language when empty); no delivery row is written."""
    language = rendering.chrome_language(language)
    rendered = rendering.render_message(message, language)
    with translation.override(language):
        list_name = _("Envoi de test")
        subject = _("[TEST] %(subject)s") % {"subject": rendered.subject}
    values = rendering.recipient_values(
        delivery_id=None,
        email=email,
        first_name=first_name,
        subscription_id=0,
        contact_id=0,
        list_slug="test",
        list_name=list_name,
    )
    personal = rendered.personal_message(values)
    personal.subject = subject
    personal.send()


# --- from an article -------------------------------------------------------------


def mailing_create_from_article(*, article, lists=()) -> Mailing:
    """A draft mailing from an article, to `lists`: its title, description and Markdown
    body, with a link back to it on the site. Uses only `title`, `description`, `body`
    and `get_absolute_url()`."""
    url = absolute(article.get_absolute_url())
    label = _("Lire l’article sur le site")
    body = f"{article.body.strip()}\n\n[{label}]({url})\n"
    mailing = Mailing.objects.create(
        subject=article.title[:200],
        preheader=(article.description or "")[:200],
        body=body,
    )
    mailing.lists.set(lists)
    return mailing
