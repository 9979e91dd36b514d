"""The lists a reader can join, each with its public page, and the addresses a
page answered at before (they redirect to where it is now)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
            from ..pages import path_problem

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
