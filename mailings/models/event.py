"""What the ESP tells us happened to a message."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .delivery import Delivery
from .mailing import Mailing
from .sequence import Step


class Event(models.Model):
    """What the ESP tells us happened to a message, once per ESP event id."""

    STATS_KINDS = ("delivered", "bounced", "complained", "unsubscribed", "opened", "clicked")

    event_id = models.CharField(_("identifiant de l’événement"), max_length=200, unique=True)
    kind = models.CharField(_("type"), max_length=32)
    delivery = models.ForeignKey(
        Delivery,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("envoi"),
        help_text=_("Vide pour les ouvertures quand le suivi individuel est désactivé."),
    )
    mailing = models.ForeignKey(
        Mailing,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("mailing"),
    )
    step = models.ForeignKey(
        Step,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("étape"),
    )
    occurred_at = models.DateTimeField(_("survenu le"), default=timezone.now, db_index=True)
    detail = models.CharField(_("détail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("événement")
        verbose_name_plural = _("événements")
        ordering = ("-occurred_at",)
        indexes = [
            # Clicks per link of a message, read without visiting the other events.
            models.Index(
                fields=("mailing", "detail", "delivery"),
                name="event_clicks_per_link",
                condition=Q(kind="clicked"),
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.event_id}"
