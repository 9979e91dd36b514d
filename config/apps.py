from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoulsConfig(AppConfig):
    """Project-wide pieces: bootstrap command, periodic tasks, health check."""

    name = "config"
    verbose_name = _("Plateforme")
