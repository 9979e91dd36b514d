"""Every public form's POST, read before anything else does (CSRF included): a body
that is not UTF-8, too large (SIGNUPS_MAX_BODY_BYTES) or garbage gets a 400 in French,
never a 500. Used by the signup, application, preference and comment forms."""

from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http.multipartparser import MultiPartParserError
from django.http.request import UnreadablePostError
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def body_problem(request) -> str | None:
    """Why this POST body cannot be read as a form, in French; None when it can."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _("La requête envoyée est illisible.")
    if length > settings.SIGNUPS_MAX_BODY_BYTES:
        return _("Le formulaire envoyé est trop volumineux.")
    if length == 0 and not request.content_type:
        return None
    if request.content_type not in FORM_CONTENT_TYPES:
        return _("La requête envoyée n’est pas un formulaire.")
    return _form_problem(request)


def _form_problem(request) -> str | None:
    """Why a form body of an acceptable size and type cannot be parsed; None if it can."""
    try:
        body = request.body  # bounded above; read first so the parsers work on a copy
        if request.content_type == FORM_CONTENT_TYPES[0]:
            body.decode("utf-8")
        items = list(request.POST.lists())
    except RequestDataTooBig:
        return _("Le formulaire envoyé est trop volumineux.")
    except UnicodeDecodeError:
        return _("Le formulaire envoyé n’est pas encodé en UTF-8.")
    except (
        MultiPartParserError,
        TooManyFieldsSent,
        UnreadablePostError,
        SuspiciousOperation,
        ValueError,
    ):
        return _("Le formulaire envoyé est illisible.")
    if body.strip() and not items and not body.rstrip().endswith(b"--"):
        return _("Le formulaire envoyé est illisible.")
    return _characters_problem(items)


def _characters_problem(items) -> str | None:
    for key, values in items:
        # Percent-encoded bytes that are not UTF-8 decode to U+FFFD.
        if "\ufffd" in key or any("\ufffd" in value for value in values):
            return _("Le formulaire envoyé n’est pas encodé en UTF-8.")
        if "\x00" in key or any("\x00" in value for value in values):
            return _("Le formulaire envoyé contient des caractères interdits.")
    return None


def form_post(*, csrf: bool = True):
    """Read the body before anything else does (CSRF included), so that a body
    that is not UTF-8, too large or garbage gets a 400 in French, never a 500."""

    def decorator(view):
        inner = csrf_protect(view) if csrf else view

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "POST":
                problem = body_problem(request)
                if problem:
                    return render(
                        request, "signups/bad_request.html", {"message": problem}, status=400
                    )
            return inner(request, *args, **kwargs)

        return csrf_exempt(wrapper)

    return decorator
