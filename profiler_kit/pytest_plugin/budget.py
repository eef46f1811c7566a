"""The ``perf_budget`` marker: its arguments, checked before a test's body runs.

A malformed marker fails its test rather than the collection, so one typo in
a budget does not stop a whole session; hence :meth:`Budget.of` raises
:class:`ValueError` and the caller turns it into a test failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = ["MARKER", "MARKER_HELP", "Budget", "format_limit"]

MARKER = "perf_budget"
MARKER_HELP = (
    "perf_budget(wall_ms=None, cpu_ms=None, memory_mb=None, allocations=None, queries=None, "
    "repeat=1): fail the test when its call is over budget (profiler-kit); with repeat=N the "
    "test function is called N times and the median time is compared"
)


@dataclass(frozen=True)
class Budget:
    """The limits of one test, from its ``perf_budget`` markers (``None``: not limited)."""

    wall_ms: float | None = None
    cpu_ms: float | None = None
    memory_mb: float | None = None
    allocations: int | None = None
    queries: int | None = None
    repeat: int = 1

    @property
    def measures_memory(self) -> bool:
        """memray slows the call it tracks, so it runs only when a memory figure is budgeted."""
        return self.memory_mb is not None or self.allocations is not None

    @classmethod
    def of(cls, item: pytest.Item) -> Budget:
        """The budget of ``item``; raises :class:`ValueError` for a malformed marker.

        Markers of the test, its class and its module all apply, so a module
        can set a default that a test narrows: each argument comes from the
        closest marker that gives it.
        """
        values: dict[str, Any] = {}
        known = set(cls.__dataclass_fields__)
        for marker in item.iter_markers(MARKER):  # the closest first
            if marker.args:
                raise ValueError(
                    "perf_budget takes keyword arguments only, e.g. perf_budget(wall_ms=100)"
                )
            for key, value in marker.kwargs.items():
                if key not in known:
                    raise ValueError(
                        f"perf_budget has no argument {key!r} (known: {', '.join(sorted(known))})"
                    )
                values.setdefault(key, value)
        for key in ("wall_ms", "cpu_ms", "memory_mb"):
            value = values.get(key)
            if value is not None and not (
                _is_number(value) and math.isfinite(value) and value >= 0
            ):
                raise ValueError(f"perf_budget {key} must be a number of 0 or more, not {value!r}")
        for key in ("allocations", "queries"):
            value = values.get(key)
            if value is not None and not (_is_integer(value) and value >= 0):
                raise ValueError(
                    f"perf_budget {key} must be a whole number of 0 or more, not {value!r}"
                )
        repeat = values.get("repeat", 1)
        if not (_is_integer(repeat) and repeat >= 1):
            raise ValueError(
                f"perf_budget repeat must be a whole number of 1 or more, not {repeat!r}"
            )
        return cls(**values)


def _is_number(value: object) -> bool:
    # True is an int to Python, but budget=True is a mistake, not a limit of 1.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def format_limit(value: float) -> str:
    """A budget as the user wrote it (``100``, ``0.5``), so messages quote the marker back."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
