"""Signed tokens for the links in emails: confirm, unsubscribe, preferences, data.

Tokens carry ids only (never an address) and are signed with SECRET_KEY and a
salt per purpose, so a token made for one purpose is useless for another.
Confirmation and data tokens expire; unsubscribe and preference tokens never do.
"""

from datetime import timedelta

from django.core import signing

from config.links import absolute, reverse_with

CONFIRM_MAX_AGE = timedelta(days=7)
DATA_LINK_MAX_AGE = timedelta(hours=1)

_SALTS = {
    "confirm": "pouls.signups.confirm",
    "unsubscribe": "pouls.signups.unsubscribe",
    "preferences": "pouls.signups.preferences",
    "data": "pouls.signups.data",
    # A reader's first comment: the link that confirms their address (articles.commenting).
    "comment": "pouls.articles.comment",
}
# Tokens that expire. A « data » link (export, erasure) is sent on request only, to the
# address itself, and is short-lived: the permanent preference and unsubscribe links
# travel in every email and its headers, so they never open the data.
_MAX_AGES = {"confirm": CONFIRM_MAX_AGE, "data": DATA_LINK_MAX_AGE, "comment": CONFIRM_MAX_AGE}


def salt(purpose: str) -> str:
    """The signing salt of a purpose (mailings' batch tokens sign with it too)."""
    return _SALTS[purpose]


class InvalidToken(Exception):
    """Tampered, expired, or made for another purpose."""


class ExpiredToken(InvalidToken):
    """Genuine, but older than its maximum age."""


def make_token(purpose: str, pk: int, state: int | None = None) -> str:
    """`state` binds the token to the object's current state (see `confirm_state`)."""
    value = signing.b62_encode(pk)
    if state is not None:
        value = f"{value}-{signing.b62_encode(state)}"
    if purpose in _MAX_AGES:
        return signing.TimestampSigner(salt=_SALTS[purpose]).sign(value)
    return signing.Signer(salt=_SALTS[purpose]).sign(value)


def read_token_state(purpose: str, token: str) -> tuple[int, int | None]:
    """The id and the bound state (None when the token carries none)."""
    try:
        if purpose in _MAX_AGES:
            value = signing.TimestampSigner(salt=_SALTS[purpose]).unsign(
                token, max_age=_MAX_AGES[purpose]
            )
        else:
            value = signing.Signer(salt=_SALTS[purpose]).unsign(token)
        pk, _, state = value.partition("-")
        return signing.b62_decode(pk), (signing.b62_decode(state) if state else None)
    except signing.SignatureExpired as exc:
        raise ExpiredToken(str(exc)) from None
    except (signing.BadSignature, ValueError, TypeError, KeyError) as exc:
        raise InvalidToken(str(exc)) from None


def read_token(purpose: str, token: str) -> int:
    return read_token_state(purpose, token)[0]


def confirm_state(subscription) -> int:
    """A confirmation link is valid only for the email that carried it: the state is
    the time that email was sent, which changes with every new email; a link sent
    before an unsubscription never reactivates anything (`confirmation._confirmable`)."""
    sent_at = subscription.confirmation_sent_at
    return int(sent_at.timestamp() * 1_000_000) if sent_at else 0


def confirm_url(subscription) -> str:
    token = make_token("confirm", subscription.pk, confirm_state(subscription))
    return absolute(reverse_with("signups:confirm", token))


def unsubscribe_url(subscription) -> str:
    """The RFC 8058 one-click URL (also the visible unsubscribe link)."""
    return absolute(reverse_with("signups:unsubscribe", make_token("unsubscribe", subscription.pk)))


def preferences_url(contact) -> str:
    return absolute(reverse_with("signups:preferences", make_token("preferences", contact.pk)))


def data_url(contact) -> str:
    """The page to download or erase one's data: sent on request, valid one hour."""
    return absolute(reverse_with("signups:data", make_token("data", contact.pk)))
