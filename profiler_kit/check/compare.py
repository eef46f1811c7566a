"""A bench run against a baseline: every metric of every target, and what grew.

Timings go through the significance test and effect size of
:mod:`profiler_kit.check.stats`; counts through exact comparison with a
tolerance. A target missing from the current run fails the check (a renamed
or broken endpoint should not pass silently); a new target is only noted.
"""

from __future__ import annotations

from collections.abc import Mapping

from profiler_kit.calltree import CallTree
from profiler_kit.check.baseline import BenchTarget
from profiler_kit.check.config import CheckSettings
from profiler_kit.check.result import CheckResult, Comparison, GrownFunction, TargetResult
from profiler_kit.check.stats import compare_count, compare_timings
from profiler_kit.cpu import decode_profile

__all__ = ["compare_runs", "function_shares"]

GROWN_LIMIT = 5
GROWN_MIN_POINTS = 0.01  # a share must grow by at least one percentage point to be named


def compare_runs(
    baseline: Mapping[str, BenchTarget],
    current: Mapping[str, BenchTarget],
    settings: CheckSettings,
) -> CheckResult:
    targets = []
    for name, before in baseline.items():
        after = current.get(name)
        if after is None:
            targets.append(
                TargetResult(
                    name=name,
                    comparisons=(),
                    error="in the baseline but not in the current bench run "
                    "(renamed, removed, or the bench command changed)",
                )
            )
            continue
        targets.append(_compare_target(name, before, after, settings))
    for name in current:
        if name not in baseline:
            targets.append(
                TargetResult(
                    name=name, comparisons=(), note="new: not in the baseline, nothing to compare"
                )
            )
    return CheckResult.from_targets(targets)


def _compare_target(
    name: str, before: BenchTarget, after: BenchTarget, settings: CheckSettings
) -> TargetResult:
    comparisons: list[Comparison] = []
    thresholds = {"wall_s": settings.wall_threshold, "cpu_s": settings.cpu_threshold}
    for metric in ("wall_s", "cpu_s"):
        if metric in settings.metrics:
            comparisons.append(
                compare_timings(
                    getattr(before, metric),
                    getattr(after, metric),
                    threshold=thresholds[metric],
                    alpha=settings.alpha,
                    metric=metric,
                )
            )
    missing = []
    for metric in settings.metrics:
        if metric in thresholds:
            continue
        if metric in before.counts and metric in after.counts:
            comparisons.append(
                compare_count(
                    metric,
                    before.counts[metric],
                    after.counts[metric],
                    tolerance=settings.tolerances.get(metric, 0.0),
                )
            )
        elif metric in before.counts:
            missing.append(metric)
    note = (
        f"not measured in the current run: {', '.join(missing)} (e.g. memray unavailable)"
        if missing
        else None
    )
    result = TargetResult(name=name, comparisons=tuple(comparisons), note=note)
    if result.regressed and before.profile and after.profile:
        result = TargetResult(
            name=name,
            comparisons=result.comparisons,
            grown_functions=grown_functions(before.profile, after.profile),
            note=note,
        )
    return result


def function_shares(profile: bytes) -> dict[tuple[str, str], float]:
    """Each function's share of the profile including what it called, keyed by (name, file:line).

    Inclusive, so new work done in a built-in (``bytes.count``) shows up in
    the Python function that started calling it; the callers above it were
    already near 100 % and do not grow.
    """
    tree = CallTree()
    tree.add_profile(decode_profile(profile))
    total = tree.total
    if total <= 0:
        return {}
    shares: dict[tuple[str, str], float] = {}
    for frame_id, seconds in tree.total_times.items():
        frame = tree.frames[frame_id]
        key = (frame.name, frame.location)
        shares[key] = shares.get(key, 0.0) + seconds / total
    return shares


def grown_functions(before: bytes, after: bytes) -> tuple[GrownFunction, ...]:
    """The functions whose share of the time grew most, largest growth first."""
    try:
        old, new = function_shares(before), function_shares(after)
    except ValueError:
        return ()
    grown = [
        GrownFunction(name, location, old.get((name, location), 0.0), share)
        for (name, location), share in new.items()
        if share - old.get((name, location), 0.0) >= GROWN_MIN_POINTS
    ]
    grown.sort(key=lambda f: f.current_share - f.baseline_share, reverse=True)
    return tuple(grown[:GROWN_LIMIT])
