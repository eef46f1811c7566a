"""Measured tests as baseline targets, in the file ``profiler-kit baseline save`` writes.

Tests share the baseline format and the comparison of ``profiler-kit
check`` (one target per test node id, kind ``"test"``), so one set of
thresholds in ``[tool.profiler-kit.check]`` governs bench targets and tests
alike. A record also crosses from a pytest-xdist worker to the controller
inside a test report, hence its JSON form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from profiler_kit.pytest_plugin.budget import Budget
from profiler_kit.pytest_plugin.measure import Measurement
from profiler_kit.units import counted

if TYPE_CHECKING:
    from profiler_kit.check.baseline import Baseline, BenchTarget
    from profiler_kit.check.config import CheckSettings
    from profiler_kit.check.result import CheckResult

__all__ = ["MeasuredTest", "compare_with_baseline", "open_baseline", "save_measured"]


@dataclass
class MeasuredTest:
    """One measured test as the controller sees it (from its call report)."""

    nodeid: str
    budget: Budget
    measurement: Measurement
    over: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "budget": asdict(self.budget),
            "measurement": asdict(self.measurement),
            "over": self.over,
        }

    @classmethod
    def from_json(cls, nodeid: str, data: dict[str, Any]) -> MeasuredTest:
        return cls(
            nodeid=nodeid,
            budget=Budget(**data["budget"]),
            measurement=Measurement(**data["measurement"]),
            over=list(data["over"]),
        )

    def target(self) -> BenchTarget:
        from profiler_kit.check.baseline import BenchTarget

        return BenchTarget(
            name=self.nodeid,
            kind="test",
            wall_s=list(self.measurement.wall_s),
            cpu_s=list(self.measurement.cpu_s),
            counts=dict(self.measurement.counts),
        )


def open_baseline(path: Path, rootpath: Path) -> tuple[Baseline, CheckSettings]:
    """The baseline at ``path`` and the check thresholds, read before any test runs.

    A file that is not a usable baseline is a :class:`pytest.UsageError`, so a
    wrong path costs no test run.
    """
    from profiler_kit.check.baseline import BaselineError, load_baseline
    from profiler_kit.check.config import load_check_settings
    from profiler_kit.errors import ProfilerKitError

    try:
        baseline = load_baseline(path)
    except BaselineError as error:
        raise pytest.UsageError(f"--profiler-kit-baseline: {error}") from None
    try:
        settings = load_check_settings({}, start_dir=rootpath)
    except ProfilerKitError as error:
        raise pytest.UsageError(str(error)) from None
    return baseline, settings


def save_measured(path: Path, measured: Mapping[str, MeasuredTest]) -> tuple[bool, str]:
    """Write the measured tests as a baseline; whether that went well, and what to tell."""
    from profiler_kit.check.baseline import save_baseline
    from profiler_kit.errors import ProfilerKitError
    from profiler_kit.store.ids import new_capture_id

    if not measured:
        # An empty file would replace a good baseline after a typo in -k or a --collect-only.
        return True, f"no test was measured: {path} not written"
    try:
        save_baseline(path, new_capture_id(), _targets(measured))
    except ProfilerKitError as error:
        return False, f"baseline not written: {error}"
    count = len(measured)
    return True, f"baseline of {counted(count, 'measured test')} written to {path}"


def compare_with_baseline(
    baseline: Baseline, measured: Mapping[str, MeasuredTest], settings: CheckSettings
) -> CheckResult:
    from profiler_kit.check.compare import compare_runs

    current = _targets(measured)
    # Baseline targets that did not run this time (deselected, failed) are not compared.
    before = {name: t for name, t in baseline.targets.items() if name in current}
    return compare_runs(before, current, settings)


def _targets(measured: Mapping[str, MeasuredTest]) -> dict[str, BenchTarget]:
    return {nodeid: record.target() for nodeid, record in measured.items()}
