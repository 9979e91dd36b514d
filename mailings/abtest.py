"""A/B test of a mailing's subject: two to four subjects go to a share of the audience;
after the wait, the tick sends the winner to the rest.

Every row goes through the outbox as any other (claim, hand-over, record): a variant is
only which subject a delivery row carries. Exactly-once across variants is the outbox's
own unique (mailing, contact): the rest is written with ON CONFLICT DO NOTHING, so a
reader of the test share never gets a second subject.
"""

import copy
import logging

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Delivery, Event, Mailing, Variant

logger = logging.getLogger(__name__)

S = Delivery.Status
# A stable shuffle of the audience per mailing: who is in the test share, spread evenly
# over the variants (Knuth's multiplicative hash, modulo a prime).
_SHUFFLE = "((r.contact_id * 2654435761 + %s) %% 1000003)"


def is_ab(mailing: Mailing) -> bool:
    return mailing.variants.count() >= 2


def variant_message(mailing: Mailing, variant: Variant) -> Mailing:
    """The mailing as this variant renders it: its own subject, the rest shared (the
    anymail tag stays `mailing-<id>`)."""
    message = copy.copy(mailing)
    message.subject = variant.subject
    return message


def insert_test_rows(*, mailing: Mailing, audience, now) -> int:
    """Dispatch of the test: `ab_share` % of the audience, one delivery row each,
    assigned to the variants in turn. Set-based: one INSERT … SELECT."""
    variants = list(mailing.variants.order_by("position").values_list("pk", flat=True))
    recipients = audience.values("contact_id").annotate(subscription_id=Min("id")).order_by()
    total = recipients.count()
    size = max(len(variants), round(total * mailing.ab_share / 100)) if total else 0
    sql, params = recipients.query.sql_with_params()
    cases = " ".join(f"WHEN {i} THEN %s" for i in range(len(variants)))
    table = Delivery._meta.db_table
    # Only our table name, our column list and integer positions are interpolated.
    statement = (
        f"INSERT INTO {table} (mailing_id, variant_id, not_before, created_at, "  # noqa: S608
        f"contact_id, subscription_id) "
        f"SELECT %s, CASE (t.n %% {len(variants)}) {cases} END, NULL, %s, "
        f"t.contact_id, t.subscription_id FROM ("
        f"SELECT r.contact_id, r.subscription_id, "
        f"ROW_NUMBER() OVER (ORDER BY {_SHUFFLE}, r.contact_id) AS n FROM ({sql}) AS r"
        f") AS t WHERE t.n <= %s"
    )
    with db_connection.cursor() as cursor:
        cursor.execute(statement, [mailing.pk, *variants, now, mailing.pk, *params, size])
        return cursor.rowcount


def results(mailing: Mailing) -> list[dict]:
    """Per variant: sent, opened (readers), clicked (readers), and their rates over sent."""
    variants = list(mailing.variants.order_by("position"))
    sent = dict(
        Delivery.objects.filter(mailing=mailing, variant__isnull=False, status=S.SENT)
        .values_list("variant_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    readers = {
        kind: dict(
            Event.objects.filter(mailing=mailing, kind=kind, delivery__variant__isnull=False)
            .values_list("delivery__variant_id")
            .annotate(n=Count("delivery_id", distinct=True))
            .order_by()
        )
        for kind in ("opened", "clicked")
    }
    rows = []
    for variant in variants:
        count = sent.get(variant.pk, 0)
        opened = readers["opened"].get(variant.pk, 0)
        clicked = readers["clicked"].get(variant.pk, 0)
        rows.append(
            {
                "variant": variant,
                "sent": count,
                "opened": opened,
                "clicked": clicked,
                "open_rate": 100 * opened / count if count else None,
                "click_rate": 100 * clicked / count if count else None,
                "winner": variant.pk == mailing.ab_winner_id,
            }
        )
    return rows


def measure(mailing: Mailing) -> str:
    """Opens count only where they are tracked per reader (with consent); else clicks."""
    if mailing.ab_measure == Mailing.AbMeasure.OPENS and settings.MAIL_TRACK_OPENS:
        return Mailing.AbMeasure.OPENS
    return Mailing.AbMeasure.CLICKS


def _winner(mailing: Mailing) -> Variant:
    key = "open_rate" if measure(mailing) == Mailing.AbMeasure.OPENS else "click_rate"
    rows = results(mailing)
    # Highest rate; a tie goes to the first subject.
    best = max(rows, key=lambda row: (row[key] or 0, -row["variant"].position))
    return best["variant"]


def ab_decide(*, mailing: Mailing, now=None) -> Variant | None:
    """Choose the winner and send it to the rest of the audience (who did not get the
    test). Returns the winner, or None when it is not time yet or already decided."""
    from . import services

    now = now or timezone.now()
    with transaction.atomic():
        mailing = (
            Mailing.objects.select_for_update(skip_locked=True)
            .filter(pk=mailing.pk, ab_winner__isnull=True, dispatched_at__isnull=False)
            .filter(status__in=(Mailing.Status.SENDING, Mailing.Status.PAUSED))
            .first()
        )
        if mailing is None or mailing.dispatched_at + mailing.ab_wait > now or not is_ab(mailing):
            return None
        winner = _winner(mailing)
        audience = mailing.audience()
        recipients = (
            audience.values("contact_id").annotate(subscription_id=Min("id")).order_by("contact_id")
        )
        written = Delivery.objects.insert_select(
            recipients,
            "mailing_id, variant_id, not_before, created_at, contact_id, subscription_id",
            [mailing.pk, winner.pk, None, now],
            skip_existing=True,  # the test share already has its row: never a second
        )
        if mailing.status == Mailing.Status.PAUSED:
            Delivery.objects.filter(mailing=mailing, status=S.PENDING).update(status=S.PAUSED)
        mailing.ab_winner = winner
        mailing.ab_decided_at = now
        mailing.save(update_fields=["ab_winner", "ab_decided_at", "updated_at"])
        transaction.on_commit(services.outbox_wake)
    logger.info("mailing %s: subject %s won, %s more deliveries", mailing.pk, winner.pk, written)
    return winner


def ab_decide_due() -> int:
    """Tick handler: decide every A/B test whose wait is over."""
    now = timezone.now()
    waiting = (
        Mailing.objects.filter(
            ab_winner__isnull=True,
            dispatched_at__isnull=False,
            status__in=(Mailing.Status.SENDING, Mailing.Status.PAUSED),
        )
        .annotate(n=Count("variants"))
        .filter(n__gte=2)
    )
    decided = 0
    for mailing in waiting:
        if ab_decide(mailing=mailing, now=now):
            decided += 1
    return decided


def waiting_for_decision() -> Q:
    """Mailings whose test is out and whose winner is not chosen yet: not finished."""
    return Q(variants__isnull=False, ab_winner__isnull=True)


def describe(mailing: Mailing) -> str:
    count = mailing.variants.count()
    hours = int(mailing.ab_wait.total_seconds() // 3600)
    what = _("les clics") if measure(mailing) == Mailing.AbMeasure.CLICKS else _("les ouvertures")
    return _(
        "Test A/B : %(count)s objets envoyés à %(share)s %% des lecteurs ; après %(hours)s h, "
        "celui qui a le meilleur taux (selon %(what)s) part au reste."
    ) % {"count": count, "share": mailing.ab_share, "hours": hours, "what": what}
