"""Signed, expiring tokens for the on-demand profiling trigger.

A token proves that whoever sends it was given it by someone who holds the
secret, and only until it expires: it can be pasted into a curl command or a
browser extension without handing out the secret itself. The format is
``pk1.<expiry>.<nonce>.<signature>``, where the signature is an HMAC-SHA256
of the first three parts, base64url without padding. Verification runs in
constant time over the signature.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import math
import os
import time

__all__ = ["TokenCheck", "make_token", "check_token", "parse_duration"]

PREFIX = "pk1"
MAX_TOKEN_LENGTH = 256


class TokenCheck(enum.Enum):
    VALID = "valid"
    EXPIRED = "expired"
    FORGED = "forged"
    MALFORMED = "malformed"


def _sign(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


MAX_TTL_S = 30 * 86400  # a trigger token is for a debugging session, not for ever


def make_token(secret: str, ttl_s: float, *, now: float | None = None) -> str:
    """A token valid for ``ttl_s`` seconds from ``now``."""
    if not secret:
        raise ValueError("a trigger secret is needed to make a token")
    if not math.isfinite(ttl_s) or not 0 < ttl_s <= MAX_TTL_S:
        raise ValueError(f"a token lives between 1 s and {MAX_TTL_S // 86400} days")
    # Rounded up: a sub-second TTL must not give a token that is already expired.
    expiry = math.ceil((time.time() if now is None else now) + ttl_s)
    nonce = base64.urlsafe_b64encode(os.urandom(9)).decode("ascii")
    message = f"{PREFIX}.{expiry}.{nonce}"
    return f"{message}.{_sign(secret, message)}"


def check_token(secret: str, token: str, *, now: float | None = None) -> TokenCheck:
    """Whether ``token`` is a current token made with ``secret``."""
    if len(token) > MAX_TOKEN_LENGTH:
        return TokenCheck.MALFORMED
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not (parts[1].isascii() and parts[1].isdigit()):
        return TokenCheck.MALFORMED
    message = ".".join(parts[:3])
    if not message.isascii():
        return TokenCheck.MALFORMED  # our tokens are ASCII; and a lone surrogate cannot be signed
    # Compare before looking at the expiry, so timing says nothing about either.
    authentic = hmac.compare_digest(
        _sign(secret, message).encode(), parts[3].encode("ascii", "replace")
    )
    if not authentic:
        return TokenCheck.FORGED
    if int(parts[1]) < (time.time() if now is None else now):
        return TokenCheck.EXPIRED
    return TokenCheck.VALID


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``10m``, ``2h``, ``1d`` as seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    factor = units.get(text[-1:])
    number = text[:-1] if factor else text
    try:
        value = float(number) * (factor or 1)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (try 90s, 10m, 2h)") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"a duration must be positive and finite, got {text!r}")
    return value
