"""The audience page's figures and its chart, drawn on the server as SVG."""

from datetime import timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import Answer, MailingList, Subscription

DAYS = 90
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 36, 12, 12, 28
COLOURS = ("#b4232f", "#1a5fb4", "#26a269", "#a347ba", "#c64600", "#5e5c64")


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
                "colour": COLOURS[index % len(COLOURS)],
                "total": total["total"],
                "confirmed": total["confirmed"],
                "rate": rate,
            }
        )
    answers = Answer.objects.select_related("mailing_list").filter(contact__erased_at__isnull=True)[
        :200
    ]
    return {
        "chart": chart(days_list, series),
        "series": series,
        "days": days_list,
        "rows": [(day, [s["values"][i] for s in series]) for i, day in enumerate(days_list)],
        "answers": answers,
        "period_days": days,
    }


def chart(days_list, series) -> dict:
    """Coordinates for the template, which writes the SVG (and escapes every label)."""
    peak = max([1, *(max(s["values"], default=0) for s in series)])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(days_list) - 1)

    def y(value):
        return round(TOP + plot_h - value / peak * plot_h, 1)

    lines = []
    for s in series:
        points = " ".join(f"{round(LEFT + i * step, 1)},{y(v)}" for i, v in enumerate(s["values"]))
        lines.append({"points": points, "colour": s["colour"], "name": s["list"].name})
    ticks = [
        {"x": round(LEFT + i * step, 1), "label": day.strftime("%d/%m")}
        for i, day in enumerate(days_list)
        if i % 15 == 0 or i == len(days_list) - 1
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "lines": lines,
        "ticks": ticks,
        "peak": peak,
        "left": LEFT,
        "top": TOP,
        "bottom": TOP + plot_h,
        "right": LEFT + plot_w,
        "label_y": HEIGHT - 8,
    }
