"""Unsubscribe and preference tokens for a whole batch, keyed once.

Mirrors `django.core.signing.Signer(salt=…).sign` of Django 5.2 (its
`signature` → `salted_hmac(salt + "signer", value, key, algorithm="sha256")` →
`b64_encode`), for values that are one id in base 62: `Signer.sign` derives the
HMAC key again for every token, which was half of a message's personalisation.
With `POULS_FASTPATHS` off, `token_maker` returns `signups.tokens.make_token`
itself; tests/foundation/test_fastpaths.py checks both give the same tokens.
"""

import base64
import hashlib
from functools import lru_cache

from django.conf import settings
from django.core import signing

from config import fastpaths
from signups import tokens

_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))


@lru_cache(maxsize=8)
def _signer_pads(salt: str, secret_key: str) -> tuple:
    """The inner and outer hashes of the padded HMAC-SHA256 key (RFC 2104) of
    `Signer(salt=salt)`, taken once and copied per token."""
    key = hashlib.sha256((salt + "signer" + secret_key).encode()).digest().ljust(64, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def token_maker(purpose: str):
    """`pk → token` for a `signups.tokens` purpose that never expires."""
    if not fastpaths.enabled():
        return lambda pk: tokens.make_token(purpose, pk)
    inner_pad, outer_pad = _signer_pads(tokens.salt(purpose), settings.SECRET_KEY)
    encode = base64.urlsafe_b64encode

    def token(pk: int) -> str:
        value = signing.b62_encode(pk)
        inner, outer = inner_pad.copy(), outer_pad.copy()
        inner.update(value.encode())
        outer.update(inner.digest())
        return f"{value}:{encode(outer.digest()).rstrip(b'=').decode()}"

    return token
