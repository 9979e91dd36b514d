"""A contact's page in the admin shows every email sent to them, with its status and
the events the transport reported. `signups` never imports `mailings`: the inline is
added here to the contact admin that `signups` registered."""

from django.contrib import admin
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy

from signups.models import Contact

from .models import Delivery, Event

EVENT_LABELS = {
    "delivered": gettext_lazy("délivré"),
    "bounced": gettext_lazy("rejeté"),
    "complained": gettext_lazy("plainte"),
    "unsubscribed": gettext_lazy("désinscription"),
    "opened": gettext_lazy("ouvert"),
    "clicked": gettext_lazy("cliqué"),
    "deferred": gettext_lazy("différé"),
}


class DeliveryHistoryInline(admin.TabularInline):
    model = Delivery
    fk_name = "contact"
    verbose_name = gettext_lazy("e-mail envoyé")
    verbose_name_plural = gettext_lazy("e-mails envoyés")
    extra = 0
    can_delete = False
    show_change_link = False
    fields = readonly_fields = ("message", "status", "sent_at", "events_seen", "error")
    ordering = ("-pk",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # One query for the messages and one for all their events, however many.
        return (
            super()
            .get_queryset(request)
            .select_related("mailing", "step__sequence")
            .prefetch_related(Prefetch("events", queryset=Event.objects.order_by("occurred_at")))
        )

    @admin.display(description=gettext_lazy("message"))
    def message(self, obj):
        if obj.mailing_id:
            url = reverse("admin:mailings_mailing_change", args=[obj.mailing_id])
            return format_html('<a href="{}">{}</a>', url, obj.mailing.subject)
        url = reverse("admin:mailings_sequence_change", args=[obj.step.sequence_id])
        return format_html(
            '<a href="{}">{}</a> — {}', url, obj.step.sequence.name, obj.step.subject
        )

    @admin.display(description=gettext_lazy("événements"))
    def events_seen(self, obj):
        events = list(obj.events.all())
        if not events:
            return "—"
        return format_html_join(
            ", ",
            "{} ({})",
            (
                (
                    EVENT_LABELS.get(event.kind, event.kind),
                    timezone.localtime(event.occurred_at).strftime("%d/%m/%Y %H:%M"),
                )
                for event in events
            ),
        )


def contact_admin_add_history() -> None:
    contact_admin = admin.site.get_model_admin(Contact)
    if DeliveryHistoryInline not in contact_admin.inlines:
        contact_admin.inlines = (*contact_admin.inlines, DeliveryHistoryInline)
