"""The replies inbox: what readers answer to a mailing or a lesson, and the editor's
answer, which leaves once through the same claim-then-send outbox as the other
transactional emails (mailings/replies.py)."""

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
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


class _ReplyFiles(LazyObject):
    """STORAGES["replies"], looked up again when the setting changes."""

    def _setup(self):
        self._wrapped = storages["replies"]


reply_files = _ReplyFiles()


def reply_files_storage():
    return reply_files


@receiver(setting_changed)
def _storages_changed(*, setting, **kwargs):
    if setting == "STORAGES":
        reply_files._wrapped = empty


class ReplyAttachment(models.Model):
    """A file a reader attached to a reply, kept apart from the site's media (no URL
    reaches it): staff download it from the inbox, never displayed inline. One too large,
    or past the number kept per reply, is listed with the reason, without its file."""

    reply = models.ForeignKey(
        Reply, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("réponse")
    )
    filename = models.CharField(_("nom du fichier"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100, blank=True, default="")
    size = models.PositiveBigIntegerField(_("taille (octets)"))
    file = models.FileField(
        _("fichier"), storage=reply_files_storage, max_length=200, blank=True, default=""
    )
    not_kept = models.CharField(_("non conservée"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("pièce jointe")
        verbose_name_plural = _("pièces jointes")
        ordering = ("pk",)

    def __str__(self):
        return self.filename


@receiver(post_delete, sender=ReplyAttachment, dispatch_uid="mailings.reply_attachment_file")
def _delete_the_file(sender, instance, **kwargs):
    """An erased contact's replies take their files with them, once the deletion is
    committed."""
    if instance.file:
        storage, name = instance.file.storage, instance.file.name
        transaction.on_commit(lambda: storage.delete(name))
