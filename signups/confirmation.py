"""Double opt-in, the link's side: which subscription a confirmation link may confirm,
and confirming it (applying what a signup for a known address submitted, now that the
address's owner speaks). The signup and its email are in `services`."""

from django.db import transaction

from . import tokens
from .models import Answer, Consent, Contact, Subscription
from .services import _lock, subscription_confirm


class LinkUsed(Exception):
    """A genuine confirmation link that has served already or was replaced."""


class AlreadyConfirmed(LinkUsed):
    """A genuine confirmation link of a subscription that is active: the reader is in."""

    def __init__(self, subscription: Subscription):
        super().__init__(subscription.pk)
        self.subscription = subscription


def subscription_for_confirm_token(token: str) -> Subscription:
    """The pending subscription this link may confirm; raises InvalidToken or LinkUsed."""
    pk, state = tokens.read_token_state("confirm", token)
    subscription = (
        Subscription.objects.select_related("mailing_list", "contact").filter(pk=pk).first()
    )
    if subscription is None:
        raise tokens.InvalidToken("unknown subscription")
    if not subscription.contact.is_sendable:
        raise LinkUsed
    if not _confirmable(subscription) or state != tokens.confirm_state(subscription):
        if subscription.status == Subscription.Status.ACTIVE:
            raise AlreadyConfirmed(subscription)
        raise LinkUsed
    return subscription


def _confirmable(subscription: Subscription) -> bool:
    """Pending; or active with a submission that the link's email answered (the
    « déjà inscrit·e » notice); or unsubscribed and signed up again since, its link
    sent after leaving (a link from before the unsubscription never brings them back)."""
    if subscription.status == Subscription.Status.PENDING:
        return True
    if subscription.status == Subscription.Status.ACTIVE:
        return subscription.confirmation_sent_at is not None and (
            subscription.pending_signups.filter(
                submitted_at__lte=subscription.confirmation_sent_at
            ).exists()
        )
    return (
        subscription.status == Subscription.Status.UNSUBSCRIBED
        and subscription.confirmation_sent_at is not None
        and subscription.unsubscribed_at is not None
        and subscription.confirmation_sent_at > subscription.unsubscribed_at
    )


@transaction.atomic
def subscription_confirm_token(*, token: str) -> Subscription:
    """Confirm through the link of the confirmation email (the button's POST): the
    owner of the address speaks, so what the signups this email answered submitted
    for a known address is applied now (`PendingSignup`)."""
    subscription = subscription_for_confirm_token(token)
    locked = _lock(subscription.pk)
    if (
        locked is None
        or not _confirmable(locked)
        or tokens.confirm_state(locked) != tokens.confirm_state(subscription)
    ):
        if locked is not None and locked.status == Subscription.Status.ACTIVE:
            raise AlreadyConfirmed(subscription)  # a second click, a second tab
        raise LinkUsed
    Contact.objects.filter(pk=subscription.contact_id).update(inactive_flagged_at=None)
    _pending_signup_apply(subscription=locked)
    if locked.status == Subscription.Status.UNSUBSCRIBED:  # back, by the owner's own click
        Subscription.objects.filter(pk=locked.pk).update(
            status=Subscription.Status.PENDING, unsubscribed_at=None
        )
    return subscription_confirm(subscription=locked)


def _pending_signup_apply(*, subscription: Subscription) -> None:
    """Apply the latest submission that the clicked email answered (sent before it);
    later ones, which no email of theirs confirmed, are dropped with the rest."""
    pending = (
        subscription.pending_signups.filter(submitted_at__lte=subscription.confirmation_sent_at)
        .order_by("-submitted_at", "-pk")
        .first()
        if subscription.confirmation_sent_at
        else None
    )
    if pending is not None:
        changes = {
            field: value
            for field, value in (("first_name", pending.first_name), ("profile", pending.profile))
            if value
        }
        if changes:
            Contact.objects.filter(pk=subscription.contact_id).update(**changes)
        Consent.objects.record(
            contact=subscription.contact,
            mailing_list=subscription.mailing_list,
            text=pending.consent_text,
            version=pending.consent_version,
            form=pending.form,
            given_at=pending.submitted_at,
            ip_address=pending.ip_address,
            user_agent=pending.user_agent,
        )
        if pending.answer:
            Answer.objects.create(
                contact_id=subscription.contact_id,
                mailing_list_id=subscription.mailing_list_id,
                text=pending.answer,
                profile=pending.profile,
                created_at=pending.submitted_at,
            )
    subscription.pending_signups.all().delete()
