"""JSON from outside (stored captures, baselines): every problem is a ``ValueError``.

``json.loads`` alone lets hostile input through as other exceptions or as
values that break later: ``RecursionError`` for deeply nested arrays,
``Infinity``/``NaN`` and ``1e400`` (infinite floats that make reports and
exports fail), and integers of thousands of digits (``OverflowError`` when
turned into floats). Readers of outside data use :func:`loads` instead and
only ever need to catch ``ValueError``.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["loads"]

MAX_INT_DIGITS = 30


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer of {len(text)} digits is out of range")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(data: str | bytes) -> Any:
    """Parse JSON; raises ``ValueError`` for anything unparsable, non-finite or absurdly deep."""
    try:
        return json.loads(
            data,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            parse_constant=_no_constant,
        )
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 text: {error}") from None
