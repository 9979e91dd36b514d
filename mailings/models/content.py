"""What a message says — its subject, preview line and Markdown body — written once
for the mailings and the sequences' steps, which both inherit it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageContent(models.Model):
    """The editor's words of a message: subject, preview line and Markdown body.

    Being an abstract parent, its fields come first in a child's field order; the
    admin forms of mailings and steps list their fields explicitly, so what the
    editor sees keeps its order."""

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

    class Meta:
        abstract = True
