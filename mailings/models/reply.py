"""The replies inbox: what readers answer to a mailing or a lesson, and the editor's
answer, which leaves once through the same claim-then-send outbox as the other
transactional emails (mailings/replies.py)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from signups.models import Contact


class ReplyQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)

    def inbox(self):
        """Unread first, then the newest."""
        return self.order_by(*Reply.INBOX_ORDER)


class Reply(models.Model):
    """One email a reader sent to the reply address, with the quoted history cut off.

    Linked to the delivery it answers when the address it was sent to (or its
    In-Reply-To) names one, else to the contact of the sender's address only."""

    INBOX_ORDER = (
        models.Case(
            models.When(read_at__isnull=True, then=models.Value(0)),
            default=models.Value(1),
        ).asc(),
        "-received_at",
        "-id",
    )

    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("contact"),
    )
    delivery = models.ForeignKey(
        "Delivery",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("envoi"),
        db_constraint=False,  # the outbox's rows are not referenced with locks either
    )
    mailing = models.ForeignKey(
        "Mailing",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("mailing"),
    )
    step = models.ForeignKey(
        "Step",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
        verbose_name=_("leçon"),
    )
    from_email = models.CharField(_("de"), max_length=254)
    from_name = models.CharField(_("nom"), max_length=200, blank=True, default="")
    subject = models.CharField(_("objet"), max_length=300, blank=True, default="")
    text = models.TextField(_("réponse"), blank=True, default="")
    full_text = models.TextField(_("message complet"), blank=True, default="")
    message_id = models.CharField(_("Message-ID"), max_length=300, blank=True, default="")
    esp = models.CharField(_("reçue par"), max_length=40, blank=True, default="")
    received_at = models.DateTimeField(_("reçue le"), default=timezone.now)
    read_at = models.DateTimeField(_("lue le"), null=True, blank=True)

    # The editor's answer. Its outbox: `answer_requested_at` is set when « répondre »
    # is pressed (once: the update only takes a reply that has none), cleared and
    # `answered_at` set before the email leaves.
    answer = models.TextField(_("votre réponse"), blank=True, default="")
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("répondu par"),
    )
    answer_requested_at = models.DateTimeField(_("réponse demandée le"), null=True, blank=True)
    answered_at = models.DateTimeField(_("réponse envoyée le"), null=True, blank=True)
    answer_error = models.TextField(_("échec de la réponse"), blank=True, default="")

    objects = ReplyQuerySet.as_manager()

    class Meta:
        verbose_name = _("réponse de lecteur")
        verbose_name_plural = _("réponses des lecteurs")
        constraints = [
            # An ESP that posts the same inbound email twice stores it once.
            models.UniqueConstraint(
                fields=("message_id",), condition=~Q(message_id=""), name="reply_message_id"
            ),
        ]
        indexes = [
            models.Index(fields=("-received_at",), name="reply_received"),
            models.Index(
                fields=("received_at",), name="reply_unread", condition=Q(read_at__isnull=True)
            ),
            models.Index(
                fields=("answer_requested_at",),
                name="reply_answer_outbox",
                condition=Q(answer_requested_at__isnull=False),
            ),
        ]

    def __str__(self):
        return self.subject or _("réponse n°%(id)s") % {"id": self.pk}

    @property
    def message(self):
        return self.mailing or self.step
