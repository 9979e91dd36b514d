"""Signed tokens for the links in emails: confirm, unsubscribe, preferences.

Tokens carry ids only (never an address) and are signed with SECRET_KEY and a
salt per purpose, so a token made for one purpose is useless for another.
Confirmation tokens expire; unsubscribe and preference tokens never do.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

CONFIRM_MAX_AGE = timedelta(days=7)

_SALTS = {
    "confirm": "pouls.signups.confirm",
    "unsubscribe": "pouls.signups.unsubscribe",
    "preferences": "pouls.signups.preferences",
}


class InvalidToken(Exception):
    """Tampered, expired, or made for another purpose."""


def make_token(purpose: str, pk: int) -> str:
    if purpose == "confirm":
        return signing.TimestampSigner(salt=_SALTS[purpose]).sign(signing.b62_encode(pk))
    return signing.Signer(salt=_SALTS[purpose]).sign(signing.b62_encode(pk))


def read_token(purpose: str, token: str) -> int:
    try:
        if purpose == "confirm":
            value = signing.TimestampSigner(salt=_SALTS[purpose]).unsign(
                token, max_age=CONFIRM_MAX_AGE
            )
        else:
            value = signing.Signer(salt=_SALTS[purpose]).unsign(token)
        return signing.b62_decode(value)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from None


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def confirm_url(subscription) -> str:
    return absolute(reverse("signups:confirm", args=[make_token("confirm", subscription.pk)]))


def unsubscribe_url(subscription) -> str:
    """The RFC 8058 one-click URL (also the visible unsubscribe link)."""
    return absolute(
        reverse("signups:unsubscribe", args=[make_token("unsubscribe", subscription.pk)])
    )


def preferences_url(contact) -> str:
    return absolute(reverse("signups:preferences", args=[make_token("preferences", contact.pk)]))
