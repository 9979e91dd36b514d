"""What readers write to the editor: their answers to a signup form's open question,
and their applications to be interviewed."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .contacts import Contact, Profile
from .lists import MailingList


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
