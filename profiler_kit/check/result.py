"""The result of ``profiler-kit check``: what :mod:`~profiler_kit.check.report_formats` renders.

A :class:`CheckResult` holds one :class:`TargetResult` per benchmarked target
(a script or a request), each with the comparisons of its metrics
(:class:`~profiler_kit.check.stats.TimingComparison` for ``wall_s`` and
``cpu_s``, :class:`~profiler_kit.check.stats.CountComparison` for counts) and
the functions whose share of the profile grew, which point at the cause of a
regression.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeAlias

from profiler_kit.check.stats import CountComparison, TimingComparison

__all__ = ["CheckResult", "Comparison", "GrownFunction", "TargetResult"]

Comparison: TypeAlias = TimingComparison | CountComparison


class GrownFunction(NamedTuple):
    """A function whose share of the target's time grew from baseline to current.

    Shares are fractions of the whole profile (0.25 = 25%).
    """

    name: str
    location: str
    baseline_share: float
    current_share: float


@dataclass(frozen=True, slots=True)
class TargetResult:
    """One target's comparisons.

    ``error`` says why the target could not be compared at all (missing from
    the current run, its workload failed, ...); an error fails the check like
    a regression does. ``note`` is shown but changes nothing.
    """

    name: str
    comparisons: Sequence[Comparison]
    grown_functions: Sequence[GrownFunction] = field(default_factory=tuple)
    note: str | None = None
    error: str | None = None

    @property
    def regressed(self) -> bool:
        return any(comparison.regressed for comparison in self.comparisons)

    @property
    def improved(self) -> bool:
        return any(comparison.improved for comparison in self.comparisons)

    @property
    def failed(self) -> bool:
        """Regressed or could not be compared."""
        return self.error is not None or self.regressed


@dataclass(frozen=True, slots=True)
class CheckResult:
    """All targets, and whether the check passed (exit code 0).

    ``passed`` is given rather than computed so that the caller decides what
    fails a check; :meth:`from_targets` computes the usual rule (no target
    regressed and none had an error).
    """

    targets: Sequence[TargetResult]
    passed: bool

    @classmethod
    def from_targets(cls, targets: Sequence[TargetResult]) -> CheckResult:
        return cls(targets=targets, passed=not any(target.failed for target in targets))

    @property
    def regressions(self) -> list[tuple[TargetResult, Comparison]]:
        """Every regressed comparison, with its target, in order."""
        return [
            (target, comparison)
            for target in self.targets
            for comparison in target.comparisons
            if comparison.regressed
        ]

    @property
    def improvements(self) -> list[tuple[TargetResult, Comparison]]:
        return [
            (target, comparison)
            for target in self.targets
            for comparison in target.comparisons
            if comparison.improved
        ]

    @property
    def errors(self) -> list[TargetResult]:
        """The targets that could not be compared."""
        return [target for target in self.targets if target.error is not None]
