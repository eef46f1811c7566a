"""Latency summaries: exact while small, bounded sketch beyond."""

from __future__ import annotations

import random
import statistics

from profiler_kit.analysis.durations import EXACT_LIMIT, DurationSummary


def test_small_summaries_are_exact() -> None:
    """Under the limit, percentiles equal statistics' inclusive quantiles."""
    values = [random.Random(1).uniform(0.001, 2.0) for _ in range(500)]
    summary = DurationSummary()
    for value in values:
        summary.add(value)
    expected = statistics.quantiles(values, n=100, method="inclusive")
    assert summary.exact
    for q in (50, 95, 99):
        assert summary.quantile(q) == expected[q - 1]
    assert summary.maximum == max(values) and summary.count == 500


def test_large_summaries_stay_within_half_a_percent() -> None:
    """Past the limit the sketch takes over; percentiles stay within 0.5 %."""
    rng = random.Random(2)
    values = [rng.lognormvariate(-4, 1.2) for _ in range(EXACT_LIMIT * 3)]
    summary = DurationSummary()
    for value in values:
        summary.add(value)
    expected = statistics.quantiles(values, n=100, method="inclusive")
    assert not summary.exact
    assert summary.values() == []  # the exact values were released
    for q in (50, 90, 95, 99):
        assert abs(summary.quantile(q) / expected[q - 1] - 1) < 0.005
    assert abs(summary.mean - statistics.fmean(values)) < 1e-9 * len(values)
    assert sum(summary.histogram(16)["counts"]) == len(values)


def test_empty_summary() -> None:
    """No durations: zero percentiles and an empty histogram."""
    summary = DurationSummary()
    assert summary.quantile(95) == 0.0
    assert summary.histogram(16) == {"edges": [], "counts": []}
