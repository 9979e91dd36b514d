"""The outbox: one delivery row per (message, contact), and the hand-over journal.

The sending protocol that moves these rows is described at the top of
mailings/outbox.py.
"""

from django.db import connections, models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from signups.models import Contact, Subscription


class DeliveryQuerySet(models.QuerySet):
    def sendable_now(self, now=None):
        now = now or timezone.now()
        return self.filter(status=Delivery.Status.PENDING).filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now)
        )

    def insert_select(
        self, recipients, columns: str, constants: list, *, skip_existing: bool
    ) -> int:
        """Write one row per recipient, set-based: INSERT INTO delivery (`columns`) SELECT
        `constants`, r.contact_id, r.subscription_id FROM (`recipients`) AS r, where
        `recipients` is a query set of contact_id and subscription_id. Returns rows written.

        The first dispatch of a mailing inserts plainly (the unique constraint still refuses
        any duplicate, failing the whole transaction); with `skip_existing`, ON CONFLICT DO
        NOTHING, whose speculative insertion costs about twice as much per row."""
        sql, params = recipients.query.sql_with_params()
        table = self.model._meta.db_table
        # Only the table name and our own column list are interpolated; values are parameters.
        placeholders = ", ".join(["%s"] * len(constants))
        statement = (
            f"INSERT INTO {table} ({columns}) SELECT {placeholders}, "  # noqa: S608
            f"r.contact_id, r.subscription_id FROM ({sql}) AS r"
        )
        if skip_existing:
            statement += " WHERE true ON CONFLICT DO NOTHING"
        with connections[self.db].cursor() as cursor:
            cursor.execute(statement, [*constants, *params])
            return cursor.rowcount


class Delivery(models.Model):
    """The outbox: one row per (message, contact). Its status is the truth about a send.

    pending → claimed (a worker holds it, lease running) → sent / failed. While a
    chunk of claimed rows is being handed to the server, a `Handover` row says so
    (one row per chunk, not one write per delivery). A claimed row whose lease
    expired goes back to pending, unless an open hand-over covers it: then it becomes
    unknown — never resent automatically.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("à envoyer")
        CLAIMED = "claimed", _("réservé par un worker")
        SENT = "sent", _("envoyé")
        FAILED = "failed", _("échec")
        SKIPPED = "skipped", _("écarté (désinscrit ou bloqué)")
        UNKNOWN = "unknown", _("inconnu")
        CANCELLED = "cancelled", _("annulé")
        PAUSED = "paused", _("en pause")

    mailing = models.ForeignKey(
        "Mailing",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("mailing"),
        db_index=False,  # the unique (mailing, contact) index serves lookups by mailing
        db_constraint=False,  # see below
    )
    step = models.ForeignKey(
        "Step",
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
                condition=Q(status="claimed"),
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
