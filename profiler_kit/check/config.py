"""Thresholds of ``profiler-kit check``: command line over ``[tool.profiler-kit.check]``.

A timing regression needs both a one-sided Mann-Whitney p below ``alpha``
and a median more than the threshold slower; counts are exact but for a
small tolerance. Measured with ``benchmarks/check_accuracy.py`` on a shared
2-core runner, counts are reliable (a 1 % allocation growth caught every
time, identical runs never flagged) and so are instruction counts (a 10 %
CPU slowdown caught 30/30 times, identical runs 0/50), but timings are not:
the median drifts between two bench processes by more than the 5 %
threshold often enough that identical runs were flagged in 26 % of checks.
Hence ``timings = "auto"``: with instruction counts on both sides, timings
are shown and do not gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from profiler_kit.check.measure import COUNT_METRICS
from profiler_kit.config import pyproject_table
from profiler_kit.errors import ProfilerKitError

__all__ = ["CheckSettings", "load_check_settings"]

DEFAULT_TOLERANCES = {
    "calls": 0.0,
    "allocations": 0.005,
    "allocated_bytes": 0.02,  # measured: +0.55 % between identical runs of a web endpoint
    "peak_bytes": 0.10,  # measured: up to +6 % between identical runs (allocator timing)
    "gc_collections": 0.25,
    "queries": 0.0,
    # measured between processes, whatever the load: a script within 0.05 %, a
    # Flask request within 1.2 %; a 10 % CPU regression is five times over this
    "instructions": 0.02,
}


TimingsMode = Literal["auto", "gate", "report"]
TIMINGS_MODES: tuple[TimingsMode, ...] = ("auto", "gate", "report")


@dataclass(frozen=True)
class CheckSettings:
    wall_threshold: float = 0.05
    cpu_threshold: float = 0.05
    alpha: float = 0.01
    tolerances: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TOLERANCES))
    metrics: tuple[str, ...] = ("wall_s", "cpu_s", *COUNT_METRICS)
    #: "auto": timings fail a check unless instructions were counted on both
    #: sides; "gate": always; "report": never (shown only).
    timings: TimingsMode = "auto"


def load_check_settings(
    overrides: dict[str, Any], *, start_dir: Path | None = None
) -> CheckSettings:
    """Settings from pyproject.toml, then ``overrides`` (``None`` values mean "not given")."""
    settings = CheckSettings()
    _, table = pyproject_table(start_dir or Path.cwd(), "check")
    for source, layer in (("[tool.profiler-kit.check]", table), ("the command line", overrides)):
        settings = _apply(settings, {k: v for k, v in layer.items() if v is not None}, source)
    return settings


def _apply(settings: CheckSettings, layer: dict[str, Any], source: str) -> CheckSettings:
    changes: dict[str, Any] = {}
    tolerances = dict(settings.tolerances)
    # count_tolerance sets every count first; a per-count `tolerances` entry then
    # wins whatever order the keys were written in.
    ordered = sorted(layer.items(), key=lambda item: item[0].replace("-", "_") != "count_tolerance")
    for key, value in ordered:
        name = key.replace("-", "_")
        if name in ("wall_threshold", "cpu_threshold", "alpha", "count_tolerance"):
            number = _fraction(name, value, source)
            if name == "count_tolerance":
                tolerances = dict.fromkeys(tolerances, number)
            else:
                changes[name] = number
        elif name == "tolerances":
            if not isinstance(value, dict):
                raise ProfilerKitError(f"{source}: tolerances must be a table of count: fraction")
            for metric, number in value.items():
                if metric not in DEFAULT_TOLERANCES:
                    raise ProfilerKitError(
                        f"{source}: unknown count {metric!r} (known: {', '.join(COUNT_METRICS)})"
                    )
                tolerances[metric] = _fraction(f"tolerances.{metric}", number, source)
        elif name == "timings":
            if value not in TIMINGS_MODES:
                raise ProfilerKitError(
                    f"{source}: timings must be one of {', '.join(TIMINGS_MODES)}, not {value!r}"
                )
            changes["timings"] = value
        elif name == "metrics":
            metrics = value.split(",") if isinstance(value, str) else list(value)
            known = ("wall_s", "cpu_s", *COUNT_METRICS)
            unknown = [m for m in metrics if m.strip() not in known]
            if unknown:
                raise ProfilerKitError(
                    f"{source}: unknown metric(s) {', '.join(unknown)} (known: {', '.join(known)})"
                )
            changes["metrics"] = tuple(m.strip() for m in metrics)
        else:
            raise ProfilerKitError(f"{source}: unknown check setting {key!r}")
    return replace(settings, tolerances=tolerances, **changes)


def _fraction(name: str, value: Any, source: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProfilerKitError(f"{source}: {name} must be a number, not {value!r}") from None
    if not 0.0 <= number <= 10.0 or number != number:
        raise ProfilerKitError(f"{source}: {name} must be between 0 and 10, not {value!r}")
    if name == "alpha" and not 0.0 < number < 1.0:
        raise ProfilerKitError(f"{source}: alpha must be between 0 and 1, not {value!r}")
    return number
