"""Contacts and their subscriptions to the lists, with the rule of who may be mailed
(`mailable_contact`, `mailable_subscription`) behind their querysets."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .lists import MailingList


def email_hash(email: str) -> str:
    """The only trace an erased or suppressed address leaves behind."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class Profile(models.TextChoices):
    ENTREPRENEUR = "entrepreneur", _("Entrepreneur·e")
    EXECUTIVE = "executive", _("Dirigeant·e")
    HR = "hr", _("RH")
    IT = "it", _("Responsable informatique en PME")
    FREELANCER = "freelancer", _("Indépendant·e")
    OTHER = "other", _("Autre")


# Who may be mailed: the rule, once for querysets (`mailable_contact` and
# `mailable_subscription`, behind `Contact.objects.mailable()` and
# `Subscription.objects.mailable()`) and once for a row already read
# (`mailings.recipients.skip_reason`, which the batch and the sequence tick apply).
# tests/mailings/test_mailable.py holds the two to the same answer in every state.


def mailable_contact(prefix: str = "") -> Q:
    """A contact who may be mailed at all: an address, neither suppressed (a hard bounce,
    a complaint, repeated soft bounces, the editor) nor erased. `prefix` reaches the
    contact from another model ("contact__")."""
    return Q(
        **{
            f"{prefix}email__isnull": False,
            f"{prefix}suppressed_at__isnull": True,
            f"{prefix}erased_at__isnull": True,
        }
    ) & ~Q(**{f"{prefix}email": ""})


def mailable_subscription(prefix: str = "") -> Q:
    """A subscription whose list may be mailed to its contact: confirmed, not
    unsubscribed, and the contact mailable. `prefix` reaches the subscription from
    another model ("subscription__")."""
    active = Q(**{f"{prefix}status": Subscription.Status.ACTIVE})
    return active & mailable_contact(f"{prefix}contact__")


class ContactQuerySet(models.QuerySet):
    def mailable(self):
        return self.filter(mailable_contact())


class Contact(models.Model):
    email = models.EmailField(
        _("adresse e-mail"),
        max_length=254,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Normalisée en minuscules ; vide une fois les données effacées."),
    )
    first_name = models.CharField(_("prénom"), max_length=100, blank=True)
    profile = models.CharField(_("profil"), max_length=20, choices=Profile.choices, blank=True)
    time_zone = models.CharField(_("fuseau horaire"), max_length=64, default=settings.TIME_ZONE)
    language = models.CharField(_("langue"), max_length=8, default="fr")
    source = models.CharField(
        _("source"),
        max_length=64,
        blank=True,
        help_text=_("Formulaire ou import d'origine du contact."),
    )
    created_at = models.DateTimeField(_("inscrit·e le"), default=timezone.now, db_index=True)
    last_activity_at = models.DateTimeField(
        _("dernière activité"),
        null=True,
        blank=True,
        help_text=_(
            "Dernière confirmation, réponse à un formulaire ou clic (les ouvertures "
            "ne comptent pas)."
        ),
    )
    suppressed_at = models.DateTimeField(_("bloqué le"), null=True, blank=True)
    suppression_reason = models.CharField(_("motif du blocage"), max_length=64, blank=True)
    erased_at = models.DateTimeField(_("effacé le"), null=True, blank=True)
    inactive_flagged_at = models.DateTimeField(
        _("signalé inactif le"),
        null=True,
        blank=True,
        help_text=_(
            "Aucune activité depuis trois ans : une dernière demande de consentement a "
            "été envoyée ; sans réponse, le contact sera effacé."
        ),
    )
    transactional_sent_at = models.DateTimeField(
        _("dernier e-mail de service"),
        null=True,
        blank=True,
        help_text=_(
            "Dernier e-mail de confirmation, « déjà inscrit·e » ou de renouvellement du "
            "consentement : un seul par 24 heures et par adresse."
        ),
    )
    # db_default: rows written by plain SQL (imports, benchmarks) get it too.
    click_tracking_refused = models.BooleanField(
        _("refuse le suivi des clics"),
        default=False,
        db_default=False,
        help_text=_(
            "Cochez si ce lecteur s’oppose au suivi de ses clics : ses e-mails gardent les "
            "liens directs, sans passer par le site (MAIL_TRACK_CLICKS)."
        ),
    )

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(Lower("email"), name="contact_email_unique_any_case"),
        ]

    def __str__(self):
        return self.email or _("contact effacé n°%(id)s") % {"id": self.pk}

    @property
    def is_sendable(self) -> bool:
        """`mailable_contact` for a contact already read."""
        return bool(self.email) and self.suppressed_at is None and self.erased_at is None


class SubscriptionQuerySet(models.QuerySet):
    def mailable(self):
        """Confirmed, not unsubscribed, and the contact may still be mailed."""
        return self.filter(mailable_subscription())


class Subscription(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("en attente de confirmation")
        ACTIVE = "active", _("confirmée")
        UNSUBSCRIBED = "unsubscribed", _("désinscrit·e")

    # No index of their own: `one_subscription_per_list` starts with the contact and
    # the (list, status, contact) index with the list; two more indexes would only
    # slow every signup down.
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        verbose_name=_("contact"),
        db_index=False,
    )
    mailing_list = models.ForeignKey(
        MailingList,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("liste"),
        db_index=False,
    )
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("demandée le"), default=timezone.now)
    confirmation_sent_at = models.DateTimeField(_("confirmation envoyée le"), null=True, blank=True)
    reply_requested_at = models.DateTimeField(
        _("réponse à envoyer depuis"),
        null=True,
        blank=True,
        help_text=_(
            "Une demande d’inscription attend son e-mail (confirmation ou « déjà "
            "inscrit·e ») ; vidé dès que le worker l’a traitée."
        ),
    )
    reply_claimed_at = models.DateTimeField(
        _("réponse prise en charge le"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Un worker a pris la réponse en charge ; vidé quand l’envoi est enregistré. "
            "Resté plein au-delà du bail, le worker s’est arrêté en route."
        ),
    )
    reply_in_flight = models.BooleanField(
        _("réponse peut-être partie"),
        default=False,
        db_default=False,  # the signup statement inserts without it
        editable=False,
        help_text=_("Le worker allait la remettre au serveur de mail : jamais renvoyée."),
    )
    confirmed_at = models.DateTimeField(_("confirmée le"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("désinscription le"), null=True, blank=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("abonnement")
        verbose_name_plural = _("abonnements")
        constraints = [
            models.UniqueConstraint(
                fields=("contact", "mailing_list"), name="one_subscription_per_list"
            ),
        ]
        indexes = [
            models.Index(fields=("mailing_list", "status", "contact")),
            models.Index(
                fields=("reply_requested_at",),
                name="subscription_reply_outbox",
                condition=models.Q(reply_requested_at__isnull=False),
            ),
            models.Index(
                fields=("reply_claimed_at",),
                name="subscription_reply_claims",
                condition=models.Q(reply_claimed_at__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.contact} → {self.mailing_list}"
