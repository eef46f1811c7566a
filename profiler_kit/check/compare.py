"""A bench run against a baseline: every metric of every target, and what grew.

Timings go through the significance test and effect size of
:mod:`profiler_kit.check.stats`; counts through exact comparison with a
tolerance. A target missing from the current run fails the check (a renamed
or broken endpoint should not pass silently); a new target is only noted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from profiler_kit.analysis.calltree import CallTree
from profiler_kit.capture.cpu import decode_profile
from profiler_kit.check.baseline import BenchTarget
from profiler_kit.check.config import CheckSettings
from profiler_kit.check.result import CheckResult, Comparison, GrownFunction, TargetResult
from profiler_kit.check.stats import TimingComparison, compare_count, compare_timings

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
    gating = timings_gate(before, after, settings)
    for metric in ("wall_s", "cpu_s"):
        if metric in settings.metrics:
            timing = compare_timings(
                getattr(before, metric),
                getattr(after, metric),
                threshold=thresholds[metric],
                alpha=settings.alpha,
                metric=metric,
            )
            comparisons.append(timing if gating else _advisory(timing, settings))
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
        f"not measured in the current run: {', '.join(missing)} ({_why_missing(missing)})"
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


def timings_gate(before: BenchTarget, after: BenchTarget, settings: CheckSettings) -> bool:
    """Whether wall and CPU timings can fail the check of this target.

    ``auto`` (the default): yes, unless both runs counted instructions and
    they are checked. Instructions measure the CPU cost without the noise
    (identical runs agree to 0.05 % for a script, 1.2 % for a Flask
    request); timings on a shared runner drift by more than any useful
    threshold between two runs (medians 10-18 % apart measured), so gating
    on them as well would fail builds on noise alone.
    """
    if settings.timings == "gate":
        return True
    if settings.timings == "report":
        return False
    counted = "instructions" in before.counts and "instructions" in after.counts
    return not (counted and "instructions" in settings.metrics)


def _advisory(timing: TimingComparison, settings: CheckSettings) -> TimingComparison:
    found = (
        "would have been a regression"
        if timing.regressed
        else "would have been an improvement"
        if timing.improved
        else "no significant change beyond the threshold"
    )
    reason = (
        "timings are set to report only"
        if settings.timings == "report"
        else "the instruction count checks the CPU cost"
    )
    note = f"advisory ({reason}; --timings gate fails on it): {found}"
    if timing.note:
        note += f"; {timing.note}"
    return dataclasses.replace(timing, regressed=False, improved=False, gating=False, note=note)


def _why_missing(metrics: list[str]) -> str:
    reasons = []
    if "instructions" in metrics:
        reasons.append("bench ran without --instructions, or valgrind is missing")
    if any(metric != "instructions" for metric in metrics):
        reasons.append("e.g. memray unavailable")
    return "; ".join(reasons)


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
