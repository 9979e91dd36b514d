"""What a batch reads about each claimed row: its contact, subscription, list and
message. On PostgreSQL the claim statement reads it (`RECIPIENTS_SQL`); elsewhere
`with_recipients` does, by primary key. `skip_reason` says why a reader must not be
mailed: the batch asks it of each claimed row (`settle_unsendable` records such rows,
which are never sent), the sequence tick of each due enrolment (`enrolment_row`)."""

from collections import defaultdict

from django.db.models import Q
from django.utils.translation import gettext as _

from signups.models import Contact, Subscription

from . import rendering
from .models import Delivery, Enrolment, Mailing, Sequence, Step

S = Delivery.Status
Skip = Enrolment.StopReason

RECIPIENT_FIELDS = (
    "contact__email",
    "contact__first_name",
    "contact__language",
    "contact__suppressed_at",
    "contact__erased_at",
    "contact__click_tracking_refused",
    "subscription__status",
    "subscription__mailing_list__slug",
    "subscription__mailing_list__name",
    "mailing__status",
    "step__sequence__is_active",
)
# (The two dates come as « is set »: all a batch asks of them, and cheaper to read.)
# Each lookup is a LATERAL subquery (OFFSET 0 keeps the planner from flattening it):
# one primary-key probe per claimed row, never a hash of a whole table. Only our own
# table names are interpolated.
RECIPIENTS_SQL = """
SELECT claimed.*, c.email, c.first_name, c.language, c.suppressed_at, c.erased_at,
       c.click_tracking_refused, s.status, s.slug, s.name, m.status, coalesce(q.is_active, true)
FROM claimed
LEFT JOIN LATERAL (SELECT email, first_name, language, suppressed_at IS NOT NULL AS suppressed_at,
                          erased_at IS NOT NULL AS erased_at, click_tracking_refused
                   FROM {contact} WHERE id = claimed.contact_id OFFSET 0) c ON true
LEFT JOIN LATERAL (SELECT sub.status, l.slug, l.name FROM {subscription} sub
                   JOIN {mailing_list} l ON l.id = sub.mailing_list_id
                   WHERE sub.id = claimed.subscription_id OFFSET 0) s ON true
LEFT JOIN LATERAL (SELECT status FROM {mailing}
                   WHERE id = claimed.mailing_id OFFSET 0) m ON true
LEFT JOIN LATERAL (SELECT seq.is_active FROM {step} st
                   JOIN {sequence} seq ON seq.id = st.sequence_id
                   WHERE st.id = claimed.step_id OFFSET 0) q ON true
ORDER BY claimed.id
""".format(  # noqa: S608
    contact=Contact._meta.db_table,
    subscription=Subscription._meta.db_table,
    mailing_list=Subscription._meta.get_field("mailing_list").related_model._meta.db_table,
    mailing=Mailing._meta.db_table,
    step=Step._meta.db_table,
    sequence=Sequence._meta.db_table,
)


def is_set(row: dict, key: str) -> bool | None:
    """None for a missing row, else whether its date is set."""
    return None if not row else row[key] is not None


def with_recipients(rows: list[dict]) -> list[dict]:
    """Add RECIPIENT_FIELDS to each claimed row (None for a vanished contact or
    subscription), one primary-key lookup per table: the portable twin of the
    PostgreSQL claim statement's LATERAL lookups."""
    contacts = {
        c["id"]: c
        for c in Contact.objects.filter(id__in={row["contact_id"] for row in rows}).values(
            "id",
            "email",
            "first_name",
            "suppressed_at",
            "erased_at",
            "language",
            "click_tracking_refused",
        )
    }
    subscriptions = {
        s["id"]: s
        for s in Subscription.objects.filter(
            id__in={row["subscription_id"] for row in rows}
        ).values("id", "status", "mailing_list__slug", "mailing_list__name")
    }
    mailings = dict(
        Mailing.objects.filter(
            id__in={row["mailing_id"] for row in rows if row["mailing_id"]}
        ).values_list("id", "status")
    )
    active_steps = dict(
        Step.objects.filter(id__in={row["step_id"] for row in rows if row["step_id"]}).values_list(
            "id", "sequence__is_active"
        )
    )
    for row in rows:
        contact = contacts.get(row["contact_id"], {})
        subscription = subscriptions.get(row["subscription_id"], {})
        row.update(
            {
                "contact__email": contact.get("email"),
                "contact__first_name": contact.get("first_name"),
                "contact__language": rendering.chrome_language(contact.get("language")),
                # « is set », as the PostgreSQL statement reads them
                "contact__suppressed_at": is_set(contact, "suppressed_at"),
                "contact__erased_at": is_set(contact, "erased_at"),
                "contact__click_tracking_refused": contact.get("click_tracking_refused"),
                "subscription__status": subscription.get("status"),
                "subscription__mailing_list__slug": subscription.get("mailing_list__slug"),
                "subscription__mailing_list__name": subscription.get("mailing_list__name"),
                "mailing__status": mailings.get(row["mailing_id"]),
                "step__sequence__is_active": active_steps.get(row["step_id"], True),
            }
        )
    return rows


def skip_reason(row: dict) -> str:
    """Why this reader must not be mailed now, as an `Enrolment.StopReason` ("" when they
    may be): the rule of `Subscription.objects.mailable()` (signups.models) applied to a
    row holding RECIPIENT_FIELDS, plus the sequence of a step's row being active. The
    reader's own reasons come first: an enrolment stopped for them never resumes with
    its sequence."""
    if not row["contact__email"] or row["contact__erased_at"]:
        return Skip.ERASED
    if row["contact__suppressed_at"]:
        return Skip.SUPPRESSED
    if row["subscription__status"] != Subscription.Status.ACTIVE:
        return Skip.UNSUBSCRIBED
    if not row.get("step__sequence__is_active", True):
        return Skip.DEACTIVATED
    return ""


def skip_message(reason: str) -> str:
    """What a skipped delivery row says (`skip_reason`), for the editor."""
    return {
        Skip.ERASED: _("contact effacé"),
        Skip.SUPPRESSED: _("contact bloqué depuis la préparation de l’envoi"),
        Skip.UNSUBSCRIBED: _("désinscrit·e depuis la préparation de l’envoi"),
        Skip.DEACTIVATED: _("séquence désactivée depuis la préparation de l’envoi"),
    }[reason]


def enrolment_row(enrolment: Enrolment) -> dict:
    """RECIPIENT_FIELDS' answers to `skip_reason` for a due enrolment (its contact,
    subscription and sequence already read)."""
    contact = enrolment.contact
    return {
        "contact__email": contact.email,
        "contact__erased_at": contact.erased_at,
        "contact__suppressed_at": contact.suppressed_at,
        "subscription__status": enrolment.subscription.status,
        "step__sequence__is_active": enrolment.sequence.is_active,
    }


def settle_unsendable(claimed: list[dict], *, worker: str) -> list[dict]:
    """Rows whose reader left (or whose mailing was cancelled) since they were written are
    recorded as such, never sent. Returns the others."""
    mine = Q(claimed_by=worker, status=S.CLAIMED)
    vanished, cancelled, paused, skipped, sendable = [], [], [], defaultdict(list), []
    for row in claimed:
        if row["subscription__status"] is None or (
            row["contact__email"] is None and row["contact__erased_at"] is None
        ):
            vanished.append(row["id"])  # the contact or subscription row was deleted
        elif row["mailing__status"] == Mailing.Status.CANCELLED:
            cancelled.append(row["id"])
        elif row["mailing__status"] == Mailing.Status.PAUSED:
            paused.append(row["id"])  # released by the tick after the pause began
        elif reason := skip_reason(row):
            skipped[skip_message(reason)].append(row["id"])
        else:
            sendable.append(row)
    if vanished:
        Delivery.objects.filter(mine, id__in=vanished).update(
            status=S.SKIPPED, error=_("contact ou abonnement supprimé"), lease_until=None
        )
    for reason, ids in skipped.items():
        Delivery.objects.filter(mine, id__in=ids).update(
            status=S.SKIPPED, error=reason, lease_until=None
        )
    if cancelled:
        Delivery.objects.filter(mine, id__in=cancelled).update(
            status=S.CANCELLED, error=_("annulé par l’éditeur"), lease_until=None
        )
    if paused:
        Delivery.objects.filter(mine, id__in=paused).update(status=S.PAUSED, lease_until=None)
    return sendable
