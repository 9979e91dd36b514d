"""What a mailing or a step did, counted as the events arrive: one row per (message,
kind, hour) with the number of events and of readers (a reader counts once per kind,
in the hour of their first event of that kind).

The results pages read these rows, a few hundred per message, instead of grouping
every event on each view (a 200,000-reader mailing has some 300,000 events; grouping
them took 200 ms and grows with the list). Recording an event adds it here in the
same transaction; `tallies_rebuild` recounts a message from its events.
"""

import datetime as dt
from collections import defaultdict

from django.db import connection, models, transaction
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncHour
from django.utils.translation import gettext_lazy as _

from .models import Event, Mailing, Step

KINDS = Event.STATS_KINDS
CHART_KINDS = ("delivered", "opened", "clicked", "bounced")


class EventTally(models.Model):
    mailing = models.ForeignKey(
        Mailing, on_delete=models.CASCADE, null=True, blank=True, related_name="tallies"
    )
    step = models.ForeignKey(
        Step, on_delete=models.CASCADE, null=True, blank=True, related_name="tallies"
    )
    kind = models.CharField(_("type"), max_length=32)
    hour = models.DateTimeField(_("heure"))
    events = models.PositiveIntegerField(_("événements"), default=0)
    readers = models.PositiveIntegerField(_("lecteurs"), default=0)

    class Meta:
        verbose_name = _("décompte d’événements")
        verbose_name_plural = _("décomptes d’événements")
        constraints = [
            models.UniqueConstraint(
                fields=("mailing", "kind", "hour"),
                condition=Q(mailing__isnull=False),
                name="one_tally_per_mailing_kind_hour",
            ),
            models.UniqueConstraint(
                fields=("step", "kind", "hour"),
                condition=Q(step__isnull=False),
                name="one_tally_per_step_kind_hour",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.hour:%Y-%m-%d %H}h: {self.events}"


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def tallies_add(*, events: list[Event]) -> None:
    """Count newly recorded events (call it in the transaction that wrote them). A
    reader counts once per kind: in the hour of their first event of that kind."""
    events = [e for e in events if (e.mailing_id or e.step_id) and e.kind in KINDS]
    if not events:
        return
    deliveries = {e.delivery_id for e in events if e.delivery_id}
    seen = set(
        Event.objects.filter(delivery_id__in=deliveries, kind__in={e.kind for e in events})
        .exclude(event_id__in=[e.event_id for e in events])
        .values_list("delivery_id", "kind")
        .distinct()
    )
    buckets = defaultdict(lambda: [0, 0])
    for event in sorted(events, key=lambda e: e.occurred_at):
        column = "mailing_id" if event.mailing_id else "step_id"
        key = (column, event.mailing_id or event.step_id, event.kind, _hour(event.occurred_at))
        buckets[key][0] += 1
        if event.delivery_id and (event.delivery_id, event.kind) not in seen:
            seen.add((event.delivery_id, event.kind))
            buckets[key][1] += 1
    table = EventTally._meta.db_table
    with connection.cursor() as cursor:
        for (column, value, kind, hour), (n, readers) in buckets.items():
            cursor.execute(
                f"INSERT INTO {table} ({column}, kind, hour, events, readers)"  # noqa: S608
                f" VALUES (%s, %s, %s, %s, %s) ON CONFLICT ({column}, kind, hour)"
                f" WHERE {column} IS NOT NULL DO UPDATE SET"
                f" events = {table}.events + excluded.events,"
                f" readers = {table}.readers + excluded.readers",
                [value, kind, connection.ops.adapt_datetimefield_value(hour), n, readers],
            )


def tallies_rebuild(*, mailing: Mailing | None = None, step: Step | None = None) -> int:
    """Recount a message's tallies from its events (after a backfill or an import)."""
    where = {"mailing": mailing} if mailing else {"step": step}
    return recount(events=Event.objects.filter(**where), tally_model=EventTally, where=where)


def recount(*, events, tally_model, where: dict) -> int:
    """The tallies of `events` (one message's), written with `tally_model` (the
    migration that backfills passes its historical models)."""
    events = events.filter(kind__in=KINDS)
    totals = defaultdict(lambda: [0, 0])
    per_hour = (
        events.annotate(at=TruncHour("occurred_at", tzinfo=dt.UTC))
        .values_list("kind", "at")
        .annotate(n=Count("id"))
        .order_by()
    )
    for kind, hour, n in per_hour:
        totals[(kind, _hour(hour))][0] += n
    firsts = (
        events.filter(delivery__isnull=False)
        .values("delivery_id", "kind")
        .annotate(first=Min("occurred_at"))
        .order_by()
        .values_list("kind", "first")
    )
    for kind, first in firsts.iterator(chunk_size=10_000):
        totals[(kind, _hour(first))][1] += 1
    with transaction.atomic():
        tally_model.objects.filter(**where).delete()
        tally_model.objects.bulk_create(
            tally_model(**where, kind=kind, hour=hour, events=n, readers=readers)
            for (kind, hour), (n, readers) in totals.items()
        )
    return len(totals)


def tally_totals(*, mailing: Mailing | None = None, step: Step | None = None) -> dict:
    """{kind: {"events": n, "readers": n}} for every kind of `KINDS` (zeros included)."""
    where = {"mailing": mailing} if mailing else {"step": step}
    rows = (
        EventTally.objects.filter(**where)
        .values("kind")
        .annotate(events=Sum("events"), readers=Sum("readers"))
        .order_by()
    )
    found = {row["kind"]: row for row in rows}
    return {
        kind: {
            "events": found.get(kind, {}).get("events") or 0,
            "readers": found.get(kind, {}).get("readers") or 0,
        }
        for kind in KINDS
    }


def tally_steps(*, steps) -> dict:
    """{step id: {kind: readers}} for the steps of a sequence, in one query."""
    result = defaultdict(dict)
    rows = (
        EventTally.objects.filter(step__in=steps)
        .values_list("step_id", "kind")
        .annotate(readers=Sum("readers"))
        .order_by()
    )
    for step_id, kind, readers in rows:
        result[step_id][kind] = readers
    return result


def tally_series(*, mailing: Mailing, kinds=CHART_KINDS) -> dict:
    """Cumulative readers per hour since the first event, per kind (for the chart)."""
    rows = (
        EventTally.objects.filter(mailing=mailing, kind__in=kinds)
        .values_list("hour", "kind", "readers", "events")
        .order_by("hour")
    )
    per_hour = defaultdict(lambda: defaultdict(int))
    for hour, kind, readers, events in rows:
        # Opens without a reader (tracking off): the events are all there is.
        per_hour[hour][kind] += readers or events
    hours = sorted(per_hour)
    series = {kind: [] for kind in kinds}
    totals = dict.fromkeys(kinds, 0)
    for hour in hours:
        for kind in kinds:
            totals[kind] += per_hour[hour][kind]
            series[kind].append(totals[kind])
    return {"hours": hours, "series": series}
