"""The consent evidence behind each subscription, the signups of known addresses
waiting for their owner's confirmation, and the addresses never to be mailed again."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .contacts import Contact, Profile, Subscription
from .lists import MailingList


class ConsentQuerySet(models.QuerySet):
    def record(
        self,
        *,
        contact: "Contact",
        mailing_list: MailingList | None,
        form: str,
        given_at=None,
        ip_address: str | None = None,
        user_agent: str = "",
        text: str | None = None,
        version: int | None = None,
    ) -> "Consent":
        """The one way consent evidence is written: what was shown (the list's consent
        text and version unless given), when, on which form, from where."""
        now = timezone.now()
        return self.create(
            contact=contact,
            mailing_list=mailing_list,
            text=mailing_list.consent_text if text is None else text,
            version=mailing_list.consent_version if version is None else version,
            form=form[:120],
            given_at=given_at or now,
            ip_address=ip_address,
            user_agent=user_agent[:500],
            created_at=now,
        )


class Consent(models.Model):
    """Evidence of consent, kept as given: what was shown, when, where, by whom."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="consents", verbose_name=_("contact")
    )
    mailing_list = models.ForeignKey(
        MailingList,
        on_delete=models.PROTECT,
        related_name="consents",
        null=True,
        blank=True,
        verbose_name=_("liste"),
    )
    text = models.TextField(_("texte accepté"))
    version = models.PositiveIntegerField(_("version"))
    form = models.CharField(
        _("formulaire ou source"),
        max_length=120,
        help_text=_("Le formulaire du site, ou pour un import : où la personne a consenti."),
    )
    given_at = models.DateTimeField(_("donné le"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    user_agent = models.CharField(_("navigateur"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("enregistré le"), default=timezone.now)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("preuve de consentement")
        verbose_name_plural = _("preuves de consentement")
        ordering = ("-given_at",)

    def __str__(self):
        return f"{self.contact} — {self.form} ({self.given_at:%Y-%m-%d})"


class PendingSignup(models.Model):
    """What a signup for an address already known submitted (first name, profile,
    answer, consent evidence), kept aside: nothing of the contact changes until the
    address's owner confirms by the emailed link (`subscription_confirm_token`), which
    applies the latest one that email covers. Dropped otherwise."""

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="pending_signups",
        verbose_name=_("abonnement"),
    )
    first_name = models.CharField(_("prénom"), max_length=100, blank=True)
    profile = models.CharField(_("profil"), max_length=20, choices=Profile.choices, blank=True)
    answer = models.TextField(_("réponse"), blank=True)
    consent_text = models.TextField(_("texte accepté"))
    consent_version = models.PositiveIntegerField(_("version"))
    form = models.CharField(_("formulaire"), max_length=120)
    ip_address = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    user_agent = models.CharField(_("navigateur"), max_length=500, blank=True)
    submitted_at = models.DateTimeField(_("envoyée le"), default=timezone.now)

    class Meta:
        verbose_name = _("inscription à confirmer")
        verbose_name_plural = _("inscriptions à confirmer")

    def __str__(self):
        return f"{self.subscription} ({self.submitted_at:%Y-%m-%d})"


class Suppression(models.Model):
    """Addresses that must never be mailed again, kept as a hash only."""

    email_hash = models.CharField(_("empreinte de l'adresse"), max_length=64, unique=True)
    reason = models.CharField(_("motif"), max_length=64)
    created_at = models.DateTimeField(_("depuis le"), default=timezone.now)

    class Meta:
        verbose_name = _("adresse bloquée")
        verbose_name_plural = _("adresses bloquées")

    def __str__(self):
        return f"{self.email_hash[:12]}… ({self.reason})"
