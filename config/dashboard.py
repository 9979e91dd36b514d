"""The admin index as the editor's dashboard: readers per list and their change over 30
days, signups and unsubscriptions per day, the last mailings with their rates, what is
scheduled next, readers in each sequence, and what waits for the editor.

Each figure is one aggregate query (a dozen in all, whatever the number of readers);
mailing rates come from the event tallies and the stored recipient counts."""

import datetime as dt
from collections import defaultdict

from django.contrib import admin
from django.db.models import Case, Count, Sum, When
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from articles.models import Comment
from mailings.models import Delivery, Enrolment, Mailing, Reply, Sequence
from mailings.tallies import EventTally
from signups.models import InterviewApplication, MailingList, Subscription

from .charts import line_chart

DAYS = 30


def subscriptions_summary(*, first: dt.date, days: int) -> dict:
    """Readers per list now with their change over the period (confirmed since minus
    unsubscribed since), and confirmations and unsubscriptions per day: all from one
    pass over the subscriptions, grouped by list, status and the day of each change
    when it falls in the period (most rows have none, so the groups stay few)."""
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(first, dt.time(0), tzinfo=tz)

    def day_of(field):
        return Case(When(**{f"{field}__gte": since}, then=TruncDate(field, tzinfo=tz)))

    rows = (
        Subscription.objects.annotate(
            confirmed_day=day_of("confirmed_at"), unsubscribed_day=day_of("unsubscribed_at")
        )
        .values_list("mailing_list_id", "status", "confirmed_day", "unsubscribed_day")
        .annotate(n=Count("id"))
        .order_by()
    )
    per_list = defaultdict(lambda: {"active": 0, "change": 0})
    per_day = {"confirmed": defaultdict(int), "unsubscribed": defaultdict(int)}
    for list_id, status, confirmed_day, unsubscribed_day, n in rows:
        if status == Subscription.Status.ACTIVE:
            per_list[list_id]["active"] += n
        if confirmed_day:
            per_list[list_id]["change"] += n
            per_day["confirmed"][confirmed_day] += n
        if unsubscribed_day:
            per_list[list_id]["change"] -= n
            per_day["unsubscribed"][unsubscribed_day] += n
    lists = [
        {
            "list": mailing_list,
            **per_list[mailing_list.pk],
            "url": reverse("admin:signups_contact_changelist")
            + "?"
            + urlencode({"liste": mailing_list.pk, "abonnement": "active"}),
        }
        for mailing_list in MailingList.objects.order_by("name")
    ]
    labels = [first + dt.timedelta(days=i) for i in range(days)]
    chart = line_chart(
        title=_("Inscriptions confirmées et désinscriptions par jour"),
        labels=[day.strftime("%d/%m") for day in labels],
        series=[
            {
                "name": _("inscriptions confirmées"),
                "key": "signups",
                "colour": "#26a269",
                "values": [per_day["confirmed"][day] for day in labels],
            },
            {
                "name": _("désinscriptions"),
                "key": "unsubscribes",
                "colour": "#b4232f",
                "values": [per_day["unsubscribed"][day] for day in labels],
            },
        ],
    )
    return {"lists": lists, "chart": chart}


def last_mailings(*, count: int = 5) -> list[dict]:
    """The last mailings sent (or going out), with their readers and rates."""
    mailings = list(
        Mailing.objects.filter(dispatched_at__isnull=False)
        .exclude(status=Mailing.Status.CANCELLED)
        .order_by("-dispatched_at")[:count]
    )
    readers = defaultdict(dict)
    rows = (
        EventTally.objects.filter(mailing__in=mailings)
        .values_list("mailing_id", "kind")
        .annotate(readers=Sum("readers"), events=Sum("events"))
        .order_by()
    )
    for mailing_id, kind, n_readers, n_events in rows:
        readers[mailing_id][kind] = n_readers or n_events
    result = []
    for mailing in mailings:
        counts = readers[mailing.pk]
        delivered = counts.get("delivered", 0)

        def rate(kind, counts=counts, delivered=delivered):
            return round(100 * counts.get(kind, 0) / delivered, 1) if delivered else None

        result.append(
            {
                "mailing": mailing,
                "recipients": mailing.recipient_count,
                "delivered": delivered,
                "opened": rate("opened"),
                "clicked": rate("clicked"),
                "unsubscribed": rate("unsubscribed"),
                "has_events": bool(counts),
                "url": reverse("admin:mailings_mailing_change", args=[mailing.pk]),
            }
        )
    return result


def scheduled_next(*, count: int = 5) -> list[dict]:
    mailings = Mailing.objects.filter(status=Mailing.Status.SCHEDULED).order_by("scheduled_at")
    return [
        {
            "mailing": mailing,
            "at": mailing.scheduled_at,
            "url": reverse("admin:mailings_mailing_change", args=[mailing.pk]),
        }
        for mailing in mailings[:count]
    ]


def readers_per_sequence() -> list[dict]:
    counts = dict(
        Enrolment.objects.active().values_list("sequence_id").annotate(n=Count("id")).order_by()
    )
    return [
        {
            "sequence": sequence,
            "active": counts.get(sequence.pk, 0),
            "url": reverse("admin:mailings_sequence_change", args=[sequence.pk]),
        }
        for sequence in Sequence.objects.order_by("name")
    ]


def comments_to_moderate() -> int:
    return Comment.objects.awaiting_moderation().count()


def waiting() -> list[dict]:
    """What waits for the editor, each with where to act on it."""
    applications = InterviewApplication.objects.filter(
        status=InterviewApplication.Status.NEW
    ).count()
    unknown = Delivery.objects.filter(status=Delivery.Status.UNKNOWN).count()
    return [
        {
            "key": "applications",
            "label": _("candidatures d’entretien nouvelles"),
            "count": applications,
            "url": reverse("admin:signups_interviewapplication_changelist") + "?status__exact=new",
        },
        {
            "key": "comments",
            "label": _("commentaires à modérer"),
            "count": comments_to_moderate(),
            "url": reverse("admin:articles_comment_changelist") + "?status__exact=pending",
        },
        {
            "key": "replies",
            "label": _("réponses de lecteurs non lues"),
            "count": Reply.objects.unread().count(),
            "url": reverse("admin:mailings_reply_changelist") + "?lue=non",
        },
        {
            "key": "unknown",
            "label": _("envois « inconnus » à vérifier"),
            "count": unknown,
            "url": reverse("admin:mailings_delivery_changelist") + "?status__exact=unknown",
        },
    ]


def dashboard_summary() -> dict:
    today = timezone.localdate()
    first = today - dt.timedelta(days=DAYS - 1)
    return {
        "period_days": DAYS,
        **subscriptions_summary(first=first, days=DAYS),
        "mailings": last_mailings(),
        "scheduled": scheduled_next(),
        "sequences": readers_per_sequence(),
        "waiting": waiting(),
    }


def index_view(request):
    """The admin index with the dashboard above the applications."""
    return admin.site.index(request, extra_context={"dashboard": dashboard_summary()})
