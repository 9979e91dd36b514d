"""Who signed up: contacts, the lists they can join, their subscriptions and
the consent evidence behind each one.

`signups` never imports `mailings`: it announces confirmations, unsubscriptions,
suppressions and erasures through the signals in `signups.signals`.
"""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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


class MailingList(models.Model):
    """A list a reader can join: the newsletter, the workshop, the interviews."""

    slug = models.SlugField(_("identifiant"), max_length=50, unique=True)
    name = models.CharField(_("nom"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    consent_text = models.TextField(
        _("texte du consentement"),
        help_text=_(
            "La case à cocher du formulaire, mot pour mot. Il est conservé "
            "avec chaque inscription comme preuve du consentement."
        ),
    )
    consent_version = models.PositiveIntegerField(
        _("version du consentement"),
        default=1,
        help_text=_("À augmenter à chaque modification du texte du consentement."),
    )
    is_active = models.BooleanField(_("ouverte aux inscriptions"), default=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    # Its public page (signups.pages): the list's data, no code per list.
    path = models.SlugField(
        _("adresse de la page"),
        max_length=80,
        unique=True,
        help_text=_(
            "La page de la liste est /adresse/. En la changeant, l’ancienne adresse "
            "redirige vers la nouvelle."
        ),
    )
    page_kicker = models.CharField(
        _("surtitre"), max_length=200, blank=True, help_text=_("La ligne au-dessus du titre.")
    )
    page_title = models.CharField(
        _("titre de la page"), max_length=200, blank=True, help_text=_("Vide : le nom.")
    )
    page_intro = models.TextField(
        _("texte de la page (Markdown)"),
        blank=True,
        help_text=_(
            "Markdown, sous le titre. Vide : la description. Le programme d’une liste "
            "qui a une séquence s’affiche de lui-même, tiré des étapes."
        ),
    )
    shows_syllabus = models.BooleanField(
        _("affiche le programme"),
        default=False,
        help_text=_(
            "La page liste les leçons de la séquence de la liste, avec leur rythme, "
            "tirés des étapes : la promesse suit toujours ce qui est envoyé."
        ),
    )
    form_heading = models.CharField(
        _("titre du formulaire"), max_length=200, blank=True, help_text=_("Vide : aucun.")
    )
    ask_first_name = models.BooleanField(_("demande le prénom"), default=True)
    ask_profile = models.BooleanField(_("demande le profil"), default=True)
    ask_answer = models.BooleanField(_("pose la question ouverte"), default=True)
    answer_label = models.CharField(
        _("question ouverte"),
        max_length=300,
        blank=True,
        help_text=_("Vide : « Quel est votre plus grand défi avec vos clients en ce moment ? »"),
    )
    is_listed = models.BooleanField(
        _("page référencée"),
        default=True,
        help_text=_(
            "Décochez pour garder la page hors du plan du site et des moteurs de "
            "recherche (elle reste accessible par son adresse)."
        ),
    )

    class Meta:
        verbose_name = _("liste")
        verbose_name_plural = _("listes")
        ordering = ("name",)

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.path:
            self.path = self.slug
        old = getattr(self, "_saved_path", None)
        super().save(*args, **kwargs)
        if old and old != self.path:
            PagePath.objects.update_or_create(old_path=old, defaults={"mailing_list": self})
        PagePath.objects.filter(old_path=self.path).delete()
        self._saved_path = self.path

    def get_absolute_url(self) -> str:
        return f"/{self.path}/"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._saved_path = instance.__dict__.get("path")
        return instance

    def clean_fields(self, exclude=None):
        super().clean_fields(exclude=exclude)
        if self.path and "path" not in (exclude or ()):
            from .pages import path_problem

            problem = path_problem(self.path, mailing_list=self)
            if problem:
                raise ValidationError({"path": problem})

    @property
    def title(self) -> str:
        return self.page_title or self.name


class PagePath(models.Model):
    """A list page's former address: answers 301 to the page where it is now."""

    old_path = models.SlugField(_("ancienne adresse"), max_length=80, unique=True)
    mailing_list = models.ForeignKey(
        MailingList,
        on_delete=models.CASCADE,
        related_name="former_paths",
        verbose_name=_("liste"),
    )

    class Meta:
        verbose_name = _("ancienne adresse de page")
        verbose_name_plural = _("anciennes adresses de page")

    def __str__(self):
        return f"/{self.old_path}/ → {self.mailing_list.get_absolute_url()}"


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
        ]

    def __str__(self):
        return f"{self.contact} → {self.mailing_list}"


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


class Answer(models.Model):
    """A reader's answer to the open question of a signup form, with who wrote it."""

    QUESTION = _("Quel est votre plus grand défi avec vos clients en ce moment ?")

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="answers", verbose_name=_("contact")
    )
    mailing_list = models.ForeignKey(
        MailingList,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="answers",
        verbose_name=_("liste"),
    )
    text = models.TextField(_("réponse"))
    profile = models.CharField(_("profil"), max_length=20, choices=Profile.choices, blank=True)
    created_at = models.DateTimeField(_("reçue le"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("réponse à la question ouverte")
        verbose_name_plural = _("réponses à la question ouverte")
        ordering = ("-created_at",)

    def __str__(self):
        return self.text[:60]


class InterviewApplication(models.Model):
    """An entrepreneur who offers to be interviewed; the editor works the queue."""

    class Status(models.TextChoices):
        NEW = "new", _("nouvelle")
        CONTACTED = "contacted", _("contacté·e")
        SCHEDULED = "scheduled", _("entretien planifié")
        PUBLISHED = "published", _("publié")

    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="interview_applications",
        verbose_name=_("contact"),
    )
    company = models.CharField(_("entreprise"), max_length=200)
    activity = models.CharField(_("activité"), max_length=200)
    city = models.CharField(_("ville"), max_length=120)
    country = models.CharField(_("pays"), max_length=120)
    story = models.TextField(_("son histoire"))
    status = models.CharField(
        _("statut"),
        max_length=16,
        choices=Status.choices,
        default=Status.NEW,
        db_index=True,
        help_text=_("Faites avancer la candidature : nouvelle, contacté·e, planifié, publié."),
    )
    notes = models.TextField(
        _("notes de la rédaction"),
        blank=True,
        help_text=_("Visibles seulement dans l’administration."),
    )
    created_at = models.DateTimeField(_("reçue le"), default=timezone.now, db_index=True)
    # The acknowledgement's outbox: set when the application is stored, cleared when
    # the email is claimed (signups.interviews).
    acknowledgement_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    acknowledged_at = models.DateTimeField(
        _("accusé de réception envoyé le"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("candidature d’entretien")
        verbose_name_plural = _("candidatures d’entretien")
        ordering = ("created_at",)

    def __str__(self):
        return f"{self.company} ({self.get_status_display()})"
