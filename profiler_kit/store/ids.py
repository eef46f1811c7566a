"""Time-sortable capture ids.

Ids sort by creation time as plain strings, so the store can answer "latest
first" from the primary key alone, and ids minted on different hosts never
collide (80 random bits). The layout is that of a ULID: 48 bits of Unix
milliseconds, then randomness, in Crockford's base32.
"""

from __future__ import annotations

import base64
import os
import random
import time

__all__ = ["new_capture_id", "capture_id_time"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {char: value for value, char in enumerate(_ALPHABET)}
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())
# A generator of our own, seeded from the OS: an app that seeds the global
# ``random`` (tests often do) must not make two captures' ids collide.
_random = random.Random()  # noqa: S311 - unique, not secret: see new_capture_id
os.register_at_fork(after_in_child=_random.seed)  # a forked worker draws its own


def new_capture_id(now: float | None = None) -> str:
    """A 26-character id whose prefix encodes ``now`` (seconds since the epoch).

    The 130 bits of the id (two zero bits, then 128 of value) are spelled by
    the C base32 encoder and translated to Crockford's alphabet: a Python
    loop over 26 characters cost several microseconds per profiled request.
    The random bits need to be unique, not secret; each forked worker
    reseeds, so the workers of one server do not repeat each other.
    """
    # time_ns avoids float rounding; a given ``now`` is nudged past float error.
    millis = time.time_ns() // 1_000_000 if now is None else round(now * 1_000_000) // 1000
    value = ((millis & (1 << 48) - 1) << 80) | _random.getrandbits(80)
    # 136 bits with the id's 130 at the top: base32 spells them as the first 26 characters.
    spelled = base64.b32encode((value << 6).to_bytes(17, "big"))[:26]
    return spelled.translate(_FROM_RFC4648).decode("ascii")


def capture_id_time(capture_id: str) -> float:
    """The creation time (seconds since the epoch) encoded in an id."""
    value = 0
    for char in capture_id.upper()[:10]:
        value = (value << 5) | _DECODE[char]
    return value / 1000.0
