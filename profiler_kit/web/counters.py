"""Counters for everything profiling skipped, dropped or failed on.

The middleware never raises into the app, so these counters (and one log
line per kind of failure) are how an operator learns that captures were
lost and why.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

__all__ = ["Stats", "logger"]

logger = logging.getLogger("profiler_kit")


class Stats:
    """Thread-safe named counters, plus log-once for failures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._logged: set[str] = set()

    def incr(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def failure(self, kind: str, error: BaseException) -> None:
        """Count a failure of ``kind``; log it the first time it happens."""
        self.incr(f"error.{kind}")
        with self._lock:
            first = kind not in self._logged
            self._logged.add(kind)
        if first:
            logger.warning(
                "profiler-kit: %s failed (%s: %s); the request was served normally. "
                "Further failures of this kind are only counted.",
                kind,
                type(error).__name__,
                error,
                exc_info=error,
            )
