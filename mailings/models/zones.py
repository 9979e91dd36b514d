"""Time zones: the readers' zones the editor chooses from, and a safe lookup."""

import zoneinfo

from django.conf import settings
from django.utils.translation import gettext_lazy as _

# The zones the blog's readers live in come first in the editor's choices.
TIME_ZONE_CHOICES = [
    ("Europe/Paris", _("Europe/Paris (France, Belgique, Suisse)")),
    ("America/Montreal", _("America/Montreal (Québec)")),
    ("America/Martinique", _("America/Martinique (Antilles)")),
    ("America/Guadeloupe", _("America/Guadeloupe")),
    ("America/Cayenne", _("America/Cayenne (Guyane)")),
    ("Indian/Reunion", _("Indian/Reunion (La Réunion)")),
    ("Africa/Douala", _("Africa/Douala (Cameroun, Afrique centrale)")),
    ("Africa/Kinshasa", _("Africa/Kinshasa (RDC)")),
    ("Africa/Abidjan", _("Africa/Abidjan (Côte d’Ivoire, Sénégal)")),
    ("UTC", _("UTC")),
]


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The reader's zone, or the blog's (TIME_ZONE) when what we hold is not a valid
    zone name."""
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)
