"""What readers are sent: sequences and their steps, mailings (broadcasts), and
the outbox of deliveries — one row per (message, contact) — with the ESP events.

The database holds the schedule: a mailing is due when its `scheduled_at` has
passed, an enrolment when its `next_due_at` has; the beat tick finds both.
"""

import datetime as dt
import zoneinfo

from django.db import models
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from signups.models import Answer, Contact, MailingList, Subscription

PARIS = "Europe/Paris"

# The zones the blog's readers live in come first in the editor's choices.
TIME_ZONE_CHOICES = [
    ("Europe/Paris", _("Europe/Paris (France, Belgique, Suisse)")),
    ("America/Montreal", _("America/Montreal (Québec)")),
    ("America/Martinique", _("America/Martinique (Antilles)")),
    ("America/Guadeloupe", _("America/Guadeloupe")),
    ("America/Cayenne", _("America/Cayenne (Guyane)")),
    ("Indian/Reunion", _("Indian/Reunion (La Réunion)")),
    ("Africa/Douala", _("Africa/Douala (Cameroun, Afrique centrale)")),
    ("Africa/Kinshasa", _("Africa/Kinshasa (RDC)")),
    ("Africa/Abidjan", _("Africa/Abidjan (Côte d’Ivoire, Sénégal)")),
    ("UTC", _("UTC")),
]


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The reader's zone, or Paris when what we hold is not a valid zone name."""
    try:
        return zoneinfo.ZoneInfo(name or PARIS)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(PARIS)


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


class Step(models.Model):
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
    subject = models.CharField(_("objet"), max_length=200)
    preheader = models.CharField(
        _("texte d’aperçu"),
        max_length=200,
        blank=True,
        help_text=_("La ligne que les messageries affichent après l’objet."),
    )
    body = models.TextField(
        _("texte (Markdown)"),
        help_text=_(
            "Markdown. « {prénom} » est remplacé par le prénom du lecteur. Le message "
            "commence par « Bonjour Prénom, », sauf si votre texte commence déjà par une "
            "formule d’appel (« Bonjour {prénom}, », « Chère lectrice »…)."
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

    def next_step(self):
        return self.sequence.steps.filter(position__gt=self.position).order_by("position").first()

    def compute_next_due(self, *, time_zone: str | None = None) -> dt.datetime | None:
        step = self.next_step()
        if step is None:
            return None
        anchor = self.last_sent_at or self.enrolled_at
        return step.next_send_time(anchor + step.delay, time_zone or self.contact.time_zone)


def audience_of(
    *, list_ids, profiles=(), signed_up_after=None, signed_up_before=None, answer_contains=""
):
    """Active subscriptions to these lists, filtered: one or more per contact. A mailing's
    audience, and the sending screen's live count before anything is saved."""
    subscriptions = Subscription.objects.active().filter(
        mailing_list__in=list_ids, contact__email__isnull=False
    )
    if profiles:
        subscriptions = subscriptions.filter(contact__profile__in=profiles)
    if signed_up_after:
        start = dt.datetime.combine(signed_up_after, dt.time(0), tzinfo=zone(PARIS))
        subscriptions = subscriptions.filter(contact__created_at__gte=start)
    if signed_up_before:
        end = dt.datetime.combine(signed_up_before, dt.time(0), tzinfo=zone(PARIS))
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
    (A semi-join from the contacts: no DISTINCT over the subscriptions' join.)"""
    subscribed = Subscription.objects.filter(
        contact_id=OuterRef("pk"),
        mailing_list__in=list_ids,
        status=Subscription.Status.ACTIVE,
    )
    contacts = (
        Contact.objects.not_suppressed().filter(email__isnull=False).filter(Exists(subscribed))
    )
    if profiles:
        contacts = contacts.filter(profile__in=profiles)
    if signed_up_after:
        start = dt.datetime.combine(signed_up_after, dt.time(0), tzinfo=zone(PARIS))
        contacts = contacts.filter(created_at__gte=start)
    if signed_up_before:
        end = dt.datetime.combine(signed_up_before, dt.time(0), tzinfo=zone(PARIS))
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


class Mailing(models.Model):
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

    subject = models.CharField(_("objet"), max_length=200)
    preheader = models.CharField(
        _("texte d’aperçu"),
        max_length=200,
        blank=True,
        help_text=_("La ligne que les messageries affichent après l’objet."),
    )
    body = models.TextField(
        _("texte (Markdown)"),
        help_text=_(
            "Markdown. « {prénom} » est remplacé par le prénom du lecteur. Le message "
            "commence par « Bonjour Prénom, », sauf si votre texte commence déjà par une "
            "formule d’appel (« Bonjour {prénom}, », « Chère lectrice »…)."
        ),
    )
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
        default=PARIS,
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
        from .tallies import tally_totals

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


class DeliveryQuerySet(models.QuerySet):
    def sendable_now(self, now=None):
        now = now or timezone.now()
        return self.filter(status=Delivery.Status.PENDING).filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now)
        )


class Delivery(models.Model):
    """The outbox: one row per (message, contact). Its status is the truth about a send.

    pending → claimed (a worker holds it, lease running) → sent / failed. While a
    chunk of claimed rows is being handed to the server, a `Handover` row says so
    (one row per chunk, not one write per delivery). A claimed row whose lease
    expired goes back to pending, unless an open hand-over covers it: then it becomes
    unknown — never resent automatically. (`sending` is the per-row mark of earlier
    versions; the tick still treats such rows as in flight.)
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("à envoyer")
        CLAIMED = "claimed", _("réservé par un worker")
        SENDING = "sending", _("en cours d’envoi")
        SENT = "sent", _("envoyé")
        FAILED = "failed", _("échec")
        SKIPPED = "skipped", _("écarté (désinscrit ou bloqué)")
        UNKNOWN = "unknown", _("inconnu")
        CANCELLED = "cancelled", _("annulé")
        PAUSED = "paused", _("en pause")

    mailing = models.ForeignKey(
        Mailing,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("mailing"),
        db_index=False,  # the unique (mailing, contact) index serves lookups by mailing
        db_constraint=False,  # see below
    )
    step = models.ForeignKey(
        Step,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("étape"),
        db_index=False,  # the unique (step, contact) index serves lookups by step
    )
    # The subject this row carries in an A/B test; empty otherwise.
    variant = models.ForeignKey(
        "Variant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("objet testé"),
        db_index=False,
        db_constraint=False,
    )
    # The outbox's references to the mailing, the contact and the subscription are not
    # enforced by PostgreSQL: checking them locks every referenced contact and
    # subscription row (FOR KEY SHARE) and made writing a million rows three times
    # slower. Django's on_delete still cascades; a row whose contact vanished is never
    # sent (the batch joins it) and ends as failed.
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("contact"),
        db_constraint=False,
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("abonnement"),
        db_constraint=False,
    )
    status = models.CharField(
        _("statut"),
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING,
        db_default=Status.PENDING,
    )
    not_before = models.DateTimeField(_("pas avant"), null=True, blank=True)
    created_at = models.DateTimeField(
        _("créée le"), default=timezone.now, db_default=models.functions.Now()
    )
    claimed_at = models.DateTimeField(_("réservée le"), null=True, blank=True)
    lease_until = models.DateTimeField(_("réservée jusqu’au"), null=True, blank=True)
    claimed_by = models.CharField(
        _("worker"), max_length=120, blank=True, default="", db_default=""
    )
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0, db_default=0)
    sent_at = models.DateTimeField(_("envoyée le"), null=True, blank=True)
    esp_message_id = models.CharField(
        _("identifiant chez le prestataire"), max_length=200, blank=True, default="", db_default=""
    )
    error = models.TextField(_("motif"), blank=True, default="", db_default="")

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("envoi")
        verbose_name_plural = _("envois")
        constraints = [
            models.UniqueConstraint(
                fields=("mailing", "contact"),
                condition=Q(mailing__isnull=False),
                name="one_delivery_per_mailing_contact",
            ),
            models.UniqueConstraint(
                fields=("step", "contact"),
                condition=Q(step__isnull=False),
                name="one_delivery_per_step_contact",
            ),
            models.CheckConstraint(
                condition=Q(mailing__isnull=True) ^ Q(step__isnull=True),
                name="delivery_of_mailing_xor_step",
            ),
        ]
        indexes = [
            # Partial indexes by status, not one (status, id) index: a claim walks the
            # pending rows in id order from the first (with an index of every status,
            # the planner may walk the sent rows too, ever longer as a mailing goes),
            # the tick reads the rows in flight, and recording a row as sent or failed
            # adds no index entry.
            models.Index(fields=("id",), name="delivery_pending", condition=Q(status="pending")),
            models.Index(
                fields=("id",),
                name="delivery_in_flight",
                condition=Q(status__in=("claimed", "sending")),
            ),
            # « Inconnu » rows, for the editor to review: rare, so an index of nothing
            # most of the time, and none of the outbox's writes touches it.
            models.Index(
                fields=("mailing",), name="delivery_unknown", condition=Q(status="unknown")
            ),
            # Only rows that have an ESP id: nothing to maintain when the rows are written.
            models.Index(
                fields=("esp_message_id",),
                name="delivery_esp_id",
                condition=~Q(esp_message_id=""),
            ),
        ]

    def __str__(self):
        return f"{self.message_key} → {self.contact_id} ({self.get_status_display()})"

    @property
    def message_key(self) -> str:
        return f"mailing-{self.mailing_id}" if self.mailing_id else f"step-{self.step_id}"


class Handover(models.Model):
    """The hand-over journal: « chunk [first_id, last_id] of worker W is being handed to
    the mail server », written (committed) before the first byte goes out and deleted
    once the outcomes are recorded. The worker's claimed rows in that id range are the
    chunk (a worker's claim is sorted by id and sent in order). When the tick finds an
    open entry whose lease expired, the worker died mid-hand-over: those rows may have
    gone out and become unknown; its other claimed rows are simply released."""

    worker = models.CharField(_("worker"), max_length=120)
    first_id = models.BigIntegerField(_("premier envoi"))
    last_id = models.BigIntegerField(_("dernier envoi"))
    opened_at = models.DateTimeField(_("ouverte le"), default=timezone.now)
    lease_until = models.DateTimeField(_("bail jusqu’au"))

    class Meta:
        verbose_name = _("remise en cours")
        verbose_name_plural = _("remises en cours")
        indexes = [models.Index(fields=("worker", "first_id"), name="handover_worker")]

    def __str__(self):
        return f"{self.worker} [{self.first_id}, {self.last_id}]"


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


from .tallies import EventTally  # noqa: E402, F401  (the tallies live beside their code)
