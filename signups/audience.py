"""The audience page's figures and its chart, drawn on the server as SVG."""

from datetime import timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from config.charts import PALETTE, line_chart

from .models import Answer, MailingList, Subscription

DAYS = 90


def summary(*, days: int = DAYS) -> dict:
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = timezone.make_aware(timezone.datetime.combine(first, timezone.datetime.min.time()))
    recent = Subscription.objects.filter(created_at__gte=since)
    per_day = (
        recent.annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("mailing_list_id", "day")
        .annotate(n=Count("id"))
    )
    counts = {(row["mailing_list_id"], row["day"]): row["n"] for row in per_day}
    totals = {
        row["mailing_list_id"]: row
        for row in recent.values("mailing_list_id").annotate(
            total=Count("id"), confirmed=Count("id", filter=Q(confirmed_at__isnull=False))
        )
    }
    days_list = [first + timedelta(days=i) for i in range(days)]
    series = []
    for index, mailing_list in enumerate(MailingList.objects.order_by("pk")):
        values = [counts.get((mailing_list.pk, day), 0) for day in days_list]
        total = totals.get(mailing_list.pk, {"total": 0, "confirmed": 0})
        rate = (total["confirmed"] / total["total"] * 100) if total["total"] else None
        series.append(
            {
                "list": mailing_list,
                "values": values,
                "colour": PALETTE[index % len(PALETTE)],
                "total": total["total"],
                "confirmed": total["confirmed"],
                "rate": rate,
            }
        )
    answers = Answer.objects.select_related("mailing_list").filter(contact__erased_at__isnull=True)[
        :200
    ]
    return {
        "chart": line_chart(
            title=_("Inscriptions par jour et par liste"),
            labels=[day.strftime("%d/%m") for day in days_list],
            series=[
                {"name": s["list"].name, "values": s["values"], "colour": s["colour"]}
                for s in series
            ],
        ),
        "series": series,
        "days": days_list,
        "answers": answers,
        "period_days": days,
    }
