"""What an article may point to: readers click these links and follow these redirects."""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def site_path_problem(value: str) -> str | None:
    """Why `value` is not a path of this site (one leading « / », no scheme, no host),
    or None when it is one."""
    if not value.startswith("/"):
        return _("une adresse du site commence par « / »")
    if value.startswith("//"):
        return _("« // » au début mènerait vers un autre site")
    if "\\" in value:
        return _("la barre oblique inverse « \\ » est refusée")
    if _CONTROL.search(value):
        return _("espaces et caractères de contrôle refusés")
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return _("une adresse du site ne nomme ni protocole ni domaine")
    return None


def validate_site_path(value: str) -> None:
    problem = site_path_problem(value)
    if problem:
        raise ValidationError(
            _("« %(value)s » n’est pas une adresse de ce site : %(problem)s."),
            code="site_path",
            params={"value": value, "problem": problem},
        )


validate_web_url = URLValidator(
    schemes=["http", "https"],
    message=_("Saisissez une adresse web complète commençant par http:// ou https://."),
)


def web_url_problem(value: str) -> str | None:
    try:
        validate_web_url(value)
    except ValidationError as exc:
        return str(exc.messages[0])
    return None
