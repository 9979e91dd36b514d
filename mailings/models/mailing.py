"""Mailings (broadcasts), their audience, and the subjects of an A/B test."""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from signups.models import Answer, Contact, MailingList, Subscription

from .content import MessageContent
from .delivery import Delivery
from .zones import TIME_ZONE_CHOICES, zone


def audience_of(
    *, list_ids, profiles=(), signed_up_after=None, signed_up_before=None, answer_contains=""
):
    """Active subscriptions to these lists, filtered: one or more per contact. A mailing's
    audience, and the sending screen's live count before anything is saved."""
    subscriptions = Subscription.objects.mailable().filter(mailing_list__in=list_ids)
    if profiles:
        subscriptions = subscriptions.filter(contact__profile__in=profiles)
    if signed_up_after:
        start = dt.datetime.combine(signed_up_after, dt.time(0), tzinfo=zone(settings.TIME_ZONE))
        subscriptions = subscriptions.filter(contact__created_at__gte=start)
    if signed_up_before:
        end = dt.datetime.combine(signed_up_before, dt.time(0), tzinfo=zone(settings.TIME_ZONE))
        subscriptions = subscriptions.filter(contact__created_at__lt=end)
    if answer_contains.strip():
        subscriptions = subscriptions.filter(
            Exists(
                Answer.objects.filter(
                    contact_id=OuterRef("contact_id"), text__icontains=answer_contains.strip()
                )
            )
        )
    return subscriptions


def audience_contacts(
    *, list_ids, profiles=(), signed_up_after=None, signed_up_before=None, answer_contains=""
):
    """The contacts of the same audience as `audience_of`, one row each: what is counted.
    (A semi-join from the contacts: no DISTINCT over the subscriptions' join. The
    contact's half of `Subscription.objects.mailable()` applies outside, its own half
    inside: `mailable_subscription`, split.)"""
    subscribed = Subscription.objects.filter(
        contact_id=OuterRef("pk"),
        mailing_list__in=list_ids,
        status=Subscription.Status.ACTIVE,
    )
    contacts = Contact.objects.mailable().filter(Exists(subscribed))
    if profiles:
        contacts = contacts.filter(profile__in=profiles)
    if signed_up_after:
        start = dt.datetime.combine(signed_up_after, dt.time(0), tzinfo=zone(settings.TIME_ZONE))
        contacts = contacts.filter(created_at__gte=start)
    if signed_up_before:
        end = dt.datetime.combine(signed_up_before, dt.time(0), tzinfo=zone(settings.TIME_ZONE))
        contacts = contacts.filter(created_at__lt=end)
    if answer_contains.strip():
        contacts = contacts.filter(
            Exists(
                Answer.objects.filter(
                    contact_id=OuterRef("pk"), text__icontains=answer_contains.strip()
                )
            )
        )
    return contacts.order_by()


class MailingQuerySet(models.QuerySet):
    def due(self, now=None):
        return self.filter(status=Mailing.Status.SCHEDULED, scheduled_at__lte=now or timezone.now())


class Mailing(MessageContent):
    """A broadcast: one message to everyone in an audience, at a scheduled time."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("brouillon")
        SCHEDULED = "scheduled", _("programmé")
        SENDING = "sending", _("envoi en cours")
        PAUSED = "paused", _("en pause")
        SENT = "sent", _("envoyé")
        CANCELLED = "cancelled", _("annulé")

    class AbMeasure(models.TextChoices):
        CLICKS = "clicks", _("les clics")
        OPENS = "opens", _("les ouvertures (si elles sont suivies, avec consentement)")

    sender_name = models.CharField(
        _("nom de l’expéditeur"),
        max_length=100,
        blank=True,
        help_text=_("Vide : le nom du site. L’adresse reste celle du site."),
    )
    lists = models.ManyToManyField(
        MailingList,
        related_name="mailings",
        verbose_name=_("listes"),
        help_text=_(
            "Les abonnés confirmés de ces listes ; chacun ne reçoit le mailing qu’une fois."
        ),
    )
    profiles = models.JSONField(
        _("profils"),
        default=list,
        blank=True,
        help_text=_("Seulement ces profils. Aucun coché : tous les profils."),
    )
    signed_up_after = models.DateField(
        _("inscrits depuis le"), null=True, blank=True, help_text=_("Inclus. Vide : sans limite.")
    )
    signed_up_before = models.DateField(
        _("inscrits avant le"), null=True, blank=True, help_text=_("Exclu. Vide : sans limite.")
    )
    answer_contains = models.CharField(
        _("réponse à la question contenant"),
        max_length=100,
        blank=True,
        help_text=_(
            "Seulement les lecteurs dont une réponse à la question de l’inscription contient "
            "ces mots (« prix », « prospection »…). Vide : tout le monde."
        ),
    )
    send_date = models.DateField(_("date d’envoi"), null=True, blank=True)
    send_time = models.TimeField(_("heure d’envoi"), null=True, blank=True)
    time_zone = models.CharField(
        _("fuseau horaire"),
        max_length=64,
        choices=TIME_ZONE_CHOICES,
        default=settings.TIME_ZONE,
        help_text=_("Le fuseau de la date et de l’heure d’envoi."),
    )
    local_time = models.BooleanField(
        _("à l’heure locale de chaque lecteur"),
        default=False,
        help_text=_(
            "Cochez pour que chacun reçoive le mailing à cette heure-là dans son propre "
            "fuseau (Paris, Montréal, Antilles, Douala…) ; le fuseau ci-dessus est alors ignoré."
        ),
    )
    ab_share = models.PositiveSmallIntegerField(
        _("part du test A/B (%)"),
        default=20,
        help_text=_(
            "Avec deux à quatre objets à tester : la part des lecteurs qui reçoit le test, "
            "répartie entre les objets ; le reste reçoit le gagnant."
        ),
    )
    ab_wait = models.DurationField(
        _("attente avant de choisir le gagnant"),
        default=dt.timedelta(hours=4),
        help_text=_("Par exemple « 04:00:00 » pour quatre heures."),
    )
    ab_measure = models.CharField(
        _("le gagnant est choisi selon"),
        max_length=8,
        choices=AbMeasure.choices,
        default=AbMeasure.CLICKS,
    )
    ab_winner = models.ForeignKey(
        "Variant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("objet gagnant"),
    )
    ab_decided_at = models.DateTimeField(_("gagnant choisi le"), null=True, blank=True)
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    scheduled_at = models.DateTimeField(_("départ prévu le"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("destinataires fixés le"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    # Counted once: at dispatch (the audience, then the deliveries, is never recounted)
    # and when the sending ends (the progress of a finished mailing no longer changes).
    recipient_count = models.PositiveIntegerField(_("destinataires"), null=True, blank=True)
    final_progress = models.JSONField(_("bilan de l’envoi"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("annulé le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    objects = MailingQuerySet.as_manager()

    class Meta:
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        ordering = ("-created_at",)

    def __str__(self):
        return self.subject

    @property
    def message_key(self) -> str:
        return f"mailing-{self.pk}"

    @property
    def is_editable(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED)

    def send_at(self) -> dt.datetime | None:
        """When dispatch starts. For local-time mailings: the earliest zone on Earth."""
        if not (self.send_date and self.send_time):
            return None
        tz = zoneinfo.ZoneInfo("Etc/GMT-14") if self.local_time else zone(self.time_zone)
        return dt.datetime.combine(self.send_date, self.send_time, tzinfo=tz).astimezone(dt.UTC)

    def local_send_at(self, time_zone: str) -> dt.datetime:
        return dt.datetime.combine(
            self.send_date, self.send_time, tzinfo=zone(time_zone)
        ).astimezone(dt.UTC)

    def audience(self):
        """Active subscriptions of the audience: one or more per contact."""
        return audience_of(**self.audience_filters())

    def audience_filters(self) -> dict:
        return {
            "list_ids": [mailing_list.pk for mailing_list in self.lists.all()],
            "profiles": self.profiles,
            "signed_up_after": self.signed_up_after,
            "signed_up_before": self.signed_up_before,
            "answer_contains": self.answer_contains,
        }

    def audience_contacts(self):
        """The contacts the audience holds, one row each (for counting)."""
        return audience_contacts(**self.audience_filters())

    def audience_count(self) -> int:
        return self.audience_contacts().count()

    def progress(self, counts: dict | None = None) -> dict:
        """Deliveries per status. `counts` ({status: n}) when already read for many."""
        if self.final_progress:
            return {**self.final_progress, "status_code": self.status}
        if counts is None:
            counts = dict(self.deliveries.values_list("status").annotate(n=Count("id")).order_by())
        total = sum(counts.values())
        S = Delivery.Status
        sent = counts.get(S.SENT, 0)
        done = sum(counts.get(s, 0) for s in (S.SENT, S.FAILED, S.SKIPPED, S.UNKNOWN, S.CANCELLED))
        return {
            "status_code": self.status,
            "paused": counts.get(S.PAUSED, 0),
            "total": total,
            "sent": sent,
            "failed": counts.get(S.FAILED, 0),
            "skipped": counts.get(S.SKIPPED, 0),
            "unknown": counts.get(S.UNKNOWN, 0),
            "cancelled": counts.get(S.CANCELLED, 0),
            "remaining": total - done,
            "percent": round(100 * done / total) if total else 0,
        }

    def stats(self) -> dict:
        """Events per kind (from the tallies kept as they arrive)."""
        from ..tallies import tally_totals

        return {kind: n["events"] for kind, n in tally_totals(mailing=self).items()}


class Variant(models.Model):
    """One subject of a mailing's A/B test."""

    mailing = models.ForeignKey(
        Mailing, on_delete=models.CASCADE, related_name="variants", verbose_name=_("mailing")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    subject = models.CharField(_("objet"), max_length=200)

    class Meta:
        verbose_name = _("objet à tester")
        verbose_name_plural = _("test A/B : objets à tester")
        ordering = ("mailing", "position")
        constraints = [
            models.UniqueConstraint(
                fields=("mailing", "position"), name="one_variant_per_position"
            ),
        ]

    def __str__(self):
        return f"{self.letter} — {self.subject}"

    @property
    def letter(self) -> str:
        return "ABCDEFGH"[(self.position - 1) % 8]
