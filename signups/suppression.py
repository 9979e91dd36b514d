"""Stopping a contact: suppression for good (the address's hash is kept, so it is never
mailed again, even after erasure or a new signup), or for a while (repeated soft
bounces: the editor may resume it). Announced through `signals.contacts_suppressed`
so that `mailings` stops sequences and cancels pending sends."""

from django.db import transaction
from django.utils import timezone

from . import signals
from .models import Contact, Suppression, email_hash


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(email)).exists()


def contact_suppress(*, contact: Contact, reason: str, permanent: bool = True) -> Contact:
    """Never mail this address again (hard bounce, complaint, erasure, editor's call).

    `permanent=False` (repeated soft bounces): stop mailing the contact without keeping
    the address's hash, so the editor can resume it (`contact_resume`)."""
    contacts_suppress(contact_ids=[contact.pk], reason=reason, permanent=permanent)
    return Contact.objects.get(pk=contact.pk)


@transaction.atomic
def contacts_suppress(*, contact_ids, reason: str, permanent: bool = True) -> list[int]:
    """`contact_suppress` for many contacts in a few statements (a webhook's batch of
    bounces); announces the contacts it stopped in one `contacts_suppressed` signal and
    returns their ids."""
    contacts = list(
        Contact.objects.select_for_update()
        .filter(pk__in=list(contact_ids))
        .order_by("pk")
        .only("pk", "email", "suppressed_at")
    )
    made_permanent = set()
    if permanent:
        hashes = {email_hash(c.email): c.pk for c in contacts if c.email}
        known = set(
            Suppression.objects.filter(email_hash__in=list(hashes)).values_list(
                "email_hash", flat=True
            )
        )
        Suppression.objects.bulk_create(
            [Suppression(email_hash=h, reason=reason) for h in hashes if h not in known],
            ignore_conflicts=True,
        )
        made_permanent = {pk for h, pk in hashes.items() if h not in known}
    stopped = [c.pk for c in contacts if c.suppressed_at is None]
    Contact.objects.filter(pk__in=stopped).update(
        suppressed_at=timezone.now(), suppression_reason=reason
    )
    # Stopped for a while, now for good: say why.
    Contact.objects.filter(pk__in=made_permanent - set(stopped)).update(suppression_reason=reason)
    if stopped:
        signals.contacts_suppressed.send(sender=Contact, contact_ids=stopped, reason=reason)
    return stopped


@transaction.atomic
def contact_resume(*, contact: Contact) -> bool:
    """Mail a contact stopped without a permanent suppression again (the editor's call);
    False, and nothing changes, for an address suppressed for good."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.suppressed_at is None or is_suppressed(contact.email):
        return False
    contact.suppressed_at = None
    contact.suppression_reason = ""
    contact.save(update_fields=["suppressed_at", "suppression_reason"])
    return True
