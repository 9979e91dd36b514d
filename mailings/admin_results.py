"""What a mailing did, for the editor: counts and rates over the delivered, clicks per
link and who clicked, the chart over time, and the deliveries as CSV. Read from the
tallies kept as events arrive and from stored counts, so the page costs the same at
200 or 200,000 readers."""

import csv

from django.conf import settings
from django.db.models import Count, Exists, OuterRef
from django.http import StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config import heartbeat
from config.charts import line_chart

from . import tallies
from .models import Delivery, Event, Mailing

LABELS = {
    "delivered": gettext_lazy("délivrés"),
    "bounced": gettext_lazy("rejetés"),
    "complained": gettext_lazy("plaintes"),
    "unsubscribed": gettext_lazy("désinscrits"),
    "opened": gettext_lazy("ouverts"),
    "clicked": gettext_lazy("cliqués"),
}
COLOURS = {"delivered": "#1a5fb4", "opened": "#2e7d32", "clicked": "#b4232f", "bounced": "#5b6170"}


def transport_reports_events() -> bool:
    """An ESP through anymail reports deliveries, bounces, opens and clicks by webhook;
    SMTP and the files of the embedded setup report nothing after the hand-over."""
    return settings.EMAIL_BACKEND.startswith("anymail.")


def mailing_results(*, mailing: Mailing) -> dict:
    totals = tallies.tally_totals(mailing=mailing)
    delivered = totals["delivered"]["readers"] or totals["delivered"]["events"]
    rows = []
    for kind in tallies.KINDS:
        if kind == "opened" and not settings.MAIL_TRACK_OPENS and not totals[kind]["events"]:
            continue  # not tracked: no line of zeros
        # Readers, once each; opens reported without a reader count as events.
        count = totals[kind]["readers"] or totals[kind]["events"]
        rows.append(
            {
                "kind": kind,
                "label": LABELS[kind],
                "count": count,
                "rate": round(100 * count / delivered, 1) if delivered else None,
            }
        )
    has_events = any(totals[kind]["events"] for kind in tallies.KINDS)
    series = tallies.tally_series(mailing=mailing)
    tz = timezone.get_current_timezone()
    chart = line_chart(
        title=_("Lecteurs cumulés par heure depuis l’envoi"),
        labels=[timezone.localtime(hour, tz).strftime("%d/%m %Hh") for hour in series["hours"]],
        series=[
            {"name": LABELS[kind], "key": kind, "colour": COLOURS[kind], "values": values}
            for kind, values in series["series"].items()
        ],
    )
    return {
        "rows": rows,
        "has_events": has_events,
        "reports_events": transport_reports_events(),
        "tracks_clicks": settings.MAIL_TRACK_CLICKS,
        "chart": chart,
        "links": links_clicked(mailing=mailing),
        "deliveries_url": deliveries_url(mailing=mailing),
        "unknown_url": deliveries_url(mailing=mailing, status=Delivery.Status.UNKNOWN),
        "export_url": reverse("admin:mailings_mailing_deliveries_csv", args=[mailing.pk]),
    }


def deliveries_url(*, mailing: Mailing, status: str = "") -> str:
    query = {"mailing__id__exact": mailing.pk}
    if status:
        query["status__exact"] = status
    return f"{reverse('admin:mailings_delivery_changelist')}?{urlencode(query)}"


def links_clicked(*, mailing: Mailing, limit: int = 50) -> list[dict]:
    """Each link clicked, with its clicks and readers, most clicked first."""
    rows = (
        Event.objects.filter(mailing=mailing, kind="clicked")
        .values("detail")
        .annotate(clicks=Count("detail"), readers=Count("delivery", distinct=True))
        .order_by("-readers", "detail")[:limit]
    )
    base = reverse("admin:mailings_event_changelist")
    return [
        {
            **row,
            "who_url": f"{base}?"
            + urlencode(
                {"mailing__id__exact": mailing.pk, "kind": "clicked", "detail": row["detail"]}
            ),
        }
        for row in rows
    ]


class _Echo:
    def write(self, value):
        return value


def _csv_cell(value) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: neutralise them."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def deliveries_csv_rows(*, mailing: Mailing):
    """The CSV's lines, one delivery at a time from a server-side cursor."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(
        ["email", "prénom", "statut", "envoyé le", "motif", "délivré", "ouvert", "cliqué"]
    )
    events = Event.objects.filter(delivery=OuterRef("pk"))
    statuses = dict(Delivery.Status.choices)
    rows = (
        mailing.deliveries.order_by("pk")
        .annotate(
            delivered=Exists(events.filter(kind="delivered")),
            opened=Exists(events.filter(kind="opened")),
            clicked=Exists(events.filter(kind="clicked")),
        )
        .values_list(
            "contact__email",
            "contact__first_name",
            "status",
            "sent_at",
            "error",
            "delivered",
            "opened",
            "clicked",
        )
    )
    yes, no = _("oui"), _("non")
    for email, first_name, status, sent_at, error, delivered, opened, clicked in heartbeat.rows(
        rows.iterator(chunk_size=2000)
    ):
        yield writer.writerow(
            [
                _csv_cell(email),
                _csv_cell(first_name),
                statuses.get(status, status),
                sent_at.isoformat() if sent_at else "",
                _csv_cell(error),
                yes if delivered else no,
                yes if opened else no,
                yes if clicked else no,
            ]
        )


class MailingResultsMixin:
    """The results part of the mailing admin: its URLs and views."""

    def results_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/envois.csv",
                view(self.deliveries_csv_view),
                name="mailings_mailing_deliveries_csv",
            ),
        ]

    def deliveries_csv_view(self, request, pk):
        mailing = self._mailing(request, pk)
        response = StreamingHttpResponse(
            deliveries_csv_rows(mailing=mailing), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = (
            f'attachment; filename="envois-mailing-{mailing.pk}-{stamp}.csv"'
        )
        return response
