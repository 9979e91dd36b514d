"""Sequences, their steps, and where each reader is in one (the enrolment)."""

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from signups.models import Contact, MailingList, Subscription

from .content import MessageContent
from .zones import zone


class Sequence(models.Model):
    """A series of emails a reader receives one by one after confirming a list."""

    mailing_list = models.ForeignKey(
        MailingList,
        on_delete=models.PROTECT,
        related_name="sequences",
        verbose_name=_("liste"),
        help_text=_("Confirmer son inscription à cette liste inscrit le lecteur à la séquence."),
    )
    slug = models.SlugField(_("identifiant"), max_length=80, unique=True)
    name = models.CharField(_("nom"), max_length=160)
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "Décochez pour ne plus inscrire personne ; les envois en cours s’arrêtent. "
            "Recochez pour que les lecteurs arrêtés par la désactivation reprennent là où "
            "ils en étaient."
        ),
    )
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)

    class Meta:
        verbose_name = _("séquence")
        verbose_name_plural = _("séquences")
        ordering = ("name",)

    def __str__(self):
        return self.name


class Step(MessageContent):
    """One email of a sequence. Editing it changes what is sent from then on."""

    sequence = models.ForeignKey(
        Sequence, on_delete=models.CASCADE, related_name="steps", verbose_name=_("séquence")
    )
    position = models.PositiveIntegerField(
        _("position"),
        help_text=_(
            "Ordre dans la séquence. Une étape ajoutée après la position d’un lecteur "
            "lui sera envoyée ; une étape insérée avant ne l’est pas."
        ),
    )
    delay = models.DurationField(
        _("délai"),
        default=dt.timedelta(days=1),
        help_text=_(
            "Temps d’attente après l’étape précédente (ou après la confirmation pour "
            "la première), par exemple « 2 00:00:00 » pour deux jours."
        ),
    )
    window_start = models.TimeField(
        _("envoyer à partir de"),
        null=True,
        blank=True,
        help_text=_("Heure locale du lecteur. Vide : à toute heure."),
    )
    window_end = models.TimeField(
        _("envoyer avant"), null=True, blank=True, help_text=_("Heure locale du lecteur.")
    )
    weekdays_only = models.BooleanField(
        _("en semaine seulement"),
        default=False,
        help_text=_("Du lundi au vendredi, dans le fuseau horaire du lecteur."),
    )
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    class Meta:
        verbose_name = _("étape")
        verbose_name_plural = _("étapes")
        ordering = ("sequence", "position")
        constraints = [
            models.UniqueConstraint(fields=("sequence", "position"), name="one_step_per_position"),
        ]

    def __str__(self):
        return f"{self.sequence} — {self.position}. {self.subject}"

    @property
    def message_key(self) -> str:
        return f"step-{self.pk}"

    def next_send_time(self, due: dt.datetime, time_zone: str) -> dt.datetime:
        """The first moment at or after `due` inside this step's window, in the reader's zone."""
        if not (self.window_start or self.window_end or self.weekdays_only):
            return due
        tz = zone(time_zone)
        local = due.astimezone(tz)
        start = self.window_start or dt.time(0, 0)
        end = self.window_end or dt.time(23, 59, 59, 999999)
        for _day in range(8):
            open_day = not self.weekdays_only or local.weekday() < 5
            if open_day and local.time() < end:
                if local.time() >= start:
                    return local.astimezone(dt.UTC)
                opening = dt.datetime.combine(local.date(), start, tzinfo=tz)
                return opening.astimezone(dt.UTC)
            next_day = local.date() + dt.timedelta(days=1)
            local = dt.datetime.combine(next_day, dt.time(0, 0), tzinfo=tz)
        return due  # unreachable with a sane window; never block a reader forever


class EnrolmentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=Enrolment.Status.ACTIVE)

    def due(self, now=None):
        return self.active().filter(next_due_at__lte=now or timezone.now())

    def stopped_by_deactivation(self):
        return self.filter(
            status=Enrolment.Status.STOPPED, stop_reason=Enrolment.StopReason.DEACTIVATED
        )


class Enrolment(models.Model):
    """Where a reader is in a sequence. Stays active after the last step, so that a
    step appended later still reaches them."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("en cours")
        PAUSED = "paused", _("en pause")
        STOPPED = "stopped", _("arrêtée")

    class StopReason(models.TextChoices):
        DEACTIVATED = "deactivated", _("séquence désactivée")
        UNSUBSCRIBED = "unsubscribed", _("désinscription")
        SUPPRESSED = "suppressed", _("contact bloqué")
        ERASED = "erased", _("contact effacé")

    sequence = models.ForeignKey(
        Sequence, on_delete=models.CASCADE, related_name="enrolments", verbose_name=_("séquence")
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="enrolments", verbose_name=_("contact")
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="enrolments",
        verbose_name=_("abonnement"),
    )
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    enrolled_at = models.DateTimeField(_("inscrit·e le"), default=timezone.now)
    position = models.PositiveIntegerField(
        _("dernière étape envoyée"), default=0, help_text=_("0 : aucune encore.")
    )
    last_sent_at = models.DateTimeField(_("dernier envoi le"), null=True, blank=True)
    next_due_at = models.DateTimeField(_("prochain envoi le"), null=True, blank=True)
    paused_at = models.DateTimeField(
        _("en pause depuis le"),
        null=True,
        blank=True,
        help_text=_("Le lecteur a mis la séquence en pause depuis ses préférences."),
    )
    stopped_at = models.DateTimeField(_("arrêtée le"), null=True, blank=True)
    stop_reason = models.CharField(
        _("motif de l’arrêt"),
        max_length=16,
        choices=StopReason.choices,
        blank=True,
        default="",
        help_text=_(
            "Seules les inscriptions arrêtées par la désactivation de la séquence "
            "reprennent quand elle est réactivée."
        ),
    )

    objects = EnrolmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("inscription à une séquence")
        verbose_name_plural = _("inscriptions à une séquence")
        constraints = [
            models.UniqueConstraint(
                fields=("sequence", "contact"), name="one_enrolment_per_sequence"
            ),
        ]
        indexes = [models.Index(fields=("status", "next_due_at"))]

    def __str__(self):
        return f"{self.contact} — {self.sequence}"
