"""The preference centre's writes: lists, profile and language, pausing and resuming a
sequence (the workshop), unsubscribing from everything, and consenting again after an
inactivity review."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import signals
from .models import Consent, Contact, MailingList, Subscription
from .services import subscription_confirm, subscription_unsubscribe


@transaction.atomic
def contact_preferences_update(
    *,
    contact: Contact,
    first_name: str,
    time_zone: str,
    language: str,
    lists: Iterable[MailingList],
    click_tracking: bool | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
) -> Contact:
    """Save the preference centre. A list ticked here is active at once: the reader
    came through a link sent to their address, and ticking it is their consent.
    `click_tracking` False is the reader's objection to click tracking (None: not asked,
    unchanged); it holds for deliveries already queued, as the editor's does."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    now = timezone.now()
    contact.first_name = first_name
    contact.time_zone = time_zone
    contact.language = language
    contact.last_activity_at = now
    contact.inactive_flagged_at = None
    fields = ["first_name", "time_zone", "language", "last_activity_at", "inactive_flagged_at"]
    if click_tracking is not None:
        contact.click_tracking_refused = not click_tracking
        fields.append("click_tracking_refused")
    contact.save(update_fields=fields)
    wanted = {ml.pk: ml for ml in lists}
    existing = {s.mailing_list_id: s for s in contact.subscriptions.all()}
    for list_id, subscription in existing.items():
        if list_id not in wanted and subscription.status != Subscription.Status.UNSUBSCRIBED:
            subscription_unsubscribe(subscription=subscription, reason="preferences")
    for list_id, mailing_list in wanted.items():
        subscription = existing.get(list_id)
        if subscription and subscription.status == Subscription.Status.ACTIVE:
            continue
        if not contact.is_sendable:
            continue
        Consent.objects.record(
            contact=contact,
            mailing_list=mailing_list,
            form="preferences",
            given_at=now,
            ip_address=ip_address,
            user_agent=user_agent,
        )
        if subscription is None:
            subscription = Subscription.objects.create(contact=contact, mailing_list=mailing_list)
        else:
            Subscription.objects.filter(pk=subscription.pk).update(
                status=Subscription.Status.PENDING, unsubscribed_at=None
            )
        subscription_confirm(subscription=subscription)
    return contact


def contact_unsubscribe_all(*, contact: Contact, reason: str = "unsubscribed") -> int:
    ended = 0
    for subscription in contact.subscriptions.exclude(status=Subscription.Status.UNSUBSCRIBED):
        subscription_unsubscribe(subscription=subscription, reason=reason)
        ended += 1
    return ended


@transaction.atomic
def contact_reconsent(*, contact: Contact, ip_address=None, user_agent: str = "") -> Contact:
    """The reader answered the re-consent request: keep them, with fresh evidence."""
    now = timezone.now()
    Contact.objects.filter(pk=contact.pk).update(last_activity_at=now, inactive_flagged_at=None)
    for subscription in contact.subscriptions.mailable().select_related("mailing_list"):
        Consent.objects.record(
            contact=contact,
            mailing_list=subscription.mailing_list,
            form="reconsent",
            given_at=now,
            ip_address=ip_address,
            user_agent=user_agent,
        )
    contact.refresh_from_db()
    return contact


def contact_sequences(*, contact: Contact) -> list[dict]:
    """The reader's sequences as the preference centre shows them (asked of mailings)."""
    found = []
    for _receiver, sequences in signals.contact_sequences.send(sender=Contact, contact=contact):
        found.extend(sequences or ())
    return found


@transaction.atomic
def contact_sequence_pause(
    *,
    contact: Contact,
    sequence_id: int,
    pause: bool,
    ip_address: str | None = None,
    user_agent: str = "",
) -> bool:
    """Pause the reader's lessons in a sequence, or resume them; recorded with the other
    evidence of what the reader asked (form « preferences:pause » or « preferences:reprise »,
    the words of the button and the sequence's name). False when nothing changed (already
    paused or running, finished, not theirs)."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if pause is False and not contact.is_sendable:
        return False
    changed = [
        result
        for _receiver, result in signals.sequence_pause_requested.send(
            sender=Contact, contact=contact, sequence_id=sequence_id, pause=pause
        )
        if result
    ]
    now = timezone.now()
    for result in changed:
        words = _("Mettre en pause") if pause else _("Reprendre")
        Consent.objects.record(
            contact=contact,
            mailing_list=result["mailing_list"],
            form="preferences:pause" if pause else "preferences:reprise",
            text=f"{words} : {result['sequence']}",
            given_at=now,
            ip_address=ip_address,
            user_agent=user_agent,
        )
    if changed:
        Contact.objects.filter(pk=contact.pk).update(last_activity_at=now, inactive_flagged_at=None)
    return bool(changed)
