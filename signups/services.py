"""Writes that change who may be mailed. Each announces itself through
`signups.signals` so that `mailings` can enrol readers or cancel pending sends."""

from django.db import transaction
from django.utils import timezone

from . import signals
from .models import Contact, Subscription, Suppression, email_hash


@transaction.atomic
def subscription_confirm(*, subscription: Subscription) -> Subscription:
    """Activate a pending subscription; anything else is left as it is."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.status != Subscription.Status.PENDING:
        return subscription
    now = timezone.now()
    subscription.status = Subscription.Status.ACTIVE
    subscription.confirmed_at = now
    subscription.save(update_fields=["status", "confirmed_at"])
    Contact.objects.filter(pk=subscription.contact_id).update(last_activity_at=now)
    signals.subscription_confirmed.send(sender=Subscription, subscription=subscription)
    return subscription


@transaction.atomic
def subscription_unsubscribe(
    *, subscription: Subscription, reason: str = "unsubscribed"
) -> Subscription:
    """Unsubscribe at once; repeating it changes nothing."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.status == Subscription.Status.UNSUBSCRIBED:
        return subscription
    subscription.status = Subscription.Status.UNSUBSCRIBED
    subscription.unsubscribed_at = timezone.now()
    subscription.save(update_fields=["status", "unsubscribed_at"])
    signals.subscription_ended.send(sender=Subscription, subscription=subscription, reason=reason)
    return subscription


@transaction.atomic
def contact_suppress(*, contact: Contact, reason: str) -> Contact:
    """Never mail this address again (hard bounce, complaint, erasure, editor's call)."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.email:
        Suppression.objects.get_or_create(
            email_hash=email_hash(contact.email), defaults={"reason": reason}
        )
    if contact.suppressed_at is None:
        contact.suppressed_at = timezone.now()
        contact.suppression_reason = reason
        contact.save(update_fields=["suppressed_at", "suppression_reason"])
        signals.contact_suppressed.send(sender=Contact, contact=contact, reason=reason)
    return contact
