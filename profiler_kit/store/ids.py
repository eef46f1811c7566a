"""Time-sortable capture ids.

Ids sort by creation time as plain strings, so the store can answer "latest
first" from the primary key alone, and ids minted on different hosts never
collide (80 random bits). The layout is that of a ULID: 48 bits of Unix
milliseconds, then randomness, in Crockford's base32.
"""

from __future__ import annotations

import os
import time

__all__ = ["new_capture_id", "capture_id_time"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {char: value for value, char in enumerate(_ALPHABET)}


def new_capture_id(now: float | None = None) -> str:
    """A 26-character id whose prefix encodes ``now`` (seconds since the epoch)."""
    # time_ns avoids float rounding; a given ``now`` is nudged past float error.
    millis = time.time_ns() // 1_000_000 if now is None else round(now * 1_000_000) // 1000
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def capture_id_time(capture_id: str) -> float:
    """The creation time (seconds since the epoch) encoded in an id."""
    value = 0
    for char in capture_id.upper()[:10]:
        value = (value << 5) | _DECODE[char]
    return value / 1000.0
