"""Latency distributions in bounded memory: exact while small, a log sketch beyond.

A route's first ``EXACT_LIMIT`` durations are kept as they are, so small
reports have exact percentiles. Past that, values move into log-spaced
buckets 0.5 % wide (at most a few thousand buckets between 1 µs and hours),
so a report over 100,000 captures needs no more memory than one over 10,000,
and percentiles stay within 0.5 % of the exact answer.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

__all__ = ["DurationSummary", "EXACT_LIMIT", "percentile"]

EXACT_LIMIT = 10_000
_GAMMA = 1.005
_LOG_GAMMA = math.log(_GAMMA)
_FLOOR = 1e-6


def percentile(ordered: Sequence[float] | array[float], q: float) -> float:
    """Linear-interpolated percentile (0-100) of already sorted values.

    Infinite values are allowed (the check's ratios to a zero baseline): a
    rank that falls on a value, or between two equal values, gives that value,
    where interpolating would compute ``inf - inf`` or ``inf * 0``, NaN.
    """
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    below, above = ordered[low], ordered[high]
    if rank == low or below == above:
        return float(below)
    return below + (above - below) * (rank - low)


class DurationSummary:
    """Count, sum, extremes and percentiles of durations (seconds)."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = 0.0
        self._exact: array[float] | None = array("d")
        self._sorted: list[float] | None = None
        self._buckets: dict[int, int] = {}

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)
        if self._exact is not None:
            self._exact.append(value)
            self._sorted = None
            if len(self._exact) > EXACT_LIMIT:
                for kept in self._exact:
                    self._bucket(kept)
                self._exact = None
        else:
            self._bucket(value)

    def _bucket(self, value: float) -> None:
        index = math.ceil(math.log(max(value, _FLOOR)) / _LOG_GAMMA)
        self._buckets[index] = self._buckets.get(index, 0) + 1

    @property
    def exact(self) -> bool:
        return self._exact is not None

    def values(self) -> list[float]:
        """The sorted durations (exact mode only; empty once sketched)."""
        if self._exact is None:
            return []
        if self._sorted is None:
            self._sorted = sorted(self._exact)
        return self._sorted

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def quantile(self, q: float) -> float:
        if self._exact is not None:
            return percentile(self.values(), q)
        if not self.count:
            return 0.0
        rank = (self.count - 1) * q / 100.0
        seen = 0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            if seen > rank:
                # The bucket's geometric middle, clamped to what was observed.
                middle = math.exp((index - 0.5) * _LOG_GAMMA)
                return min(max(middle, self.minimum), self.maximum)
        return self.maximum

    def histogram(self, bins: int) -> dict[str, list[float]]:
        """Counts in log-spaced bins between the fastest and slowest duration."""
        if not self.count:
            return {"edges": [], "counts": []}
        low, high = max(self.minimum, _FLOOR), max(self.maximum, _FLOOR)
        if high <= low:
            return {"edges": [low, high], "counts": [float(self.count)]}
        ratio = math.log(high / low)
        edges = [low * math.exp(ratio * i / bins) for i in range(bins + 1)]
        counts = [0.0] * bins
        weighted = (
            ((value, 1) for value in self.values())
            if self.exact
            else ((math.exp((i - 0.5) * _LOG_GAMMA), n) for i, n in self._buckets.items())
        )
        for value, weight in weighted:
            position = int(bins * math.log(min(max(value, low), high) / low) / ratio)
            counts[min(position, bins - 1)] += weight
        return {"edges": edges, "counts": counts}
