"""Measuring a test function's calls: timings, garbage collections, queries and memory.

A test may have side effects (rows inserted, files written, a mock's call
count), so its body is called exactly ``repeat`` times and memory is
measured during one of those calls, never in a call of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from profiler_kit.pytest_plugin.budget import Budget, format_limit

if TYPE_CHECKING:
    from profiler_kit.check.measure import Timing

__all__ = ["Measurement", "format_amount", "measure"]

_MIB = 1024 * 1024


@dataclass
class Measurement:
    """What the calls of one test measured: per-call timing samples (seconds) and counts.

    The samples are kept, not just their median, because a baseline check
    tests them for significance.
    """

    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    calls: int = 0

    @property
    def wall_ms(self) -> float:
        return _median(self.wall_s) * 1000

    @property
    def cpu_ms(self) -> float:
        return _median(self.cpu_s) * 1000

    @property
    def peak_mib(self) -> float | None:
        peak = self.counts.get("peak_bytes")
        return None if peak is None else peak / _MIB

    def exceeded(self, budget: Budget) -> list[str]:
        """One phrase per figure over its budget, e.g. ``"wall 123.4 ms > 100 ms"``.

        Every exceeded figure is listed, so one failing run tells all that
        needs fixing.
        """
        over = []
        if budget.wall_ms is not None and self.wall_ms > budget.wall_ms:
            over.append(_over("wall", self.wall_ms, budget.wall_ms, "ms"))
        if budget.cpu_ms is not None and self.cpu_ms > budget.cpu_ms:
            over.append(_over("cpu", self.cpu_ms, budget.cpu_ms, "ms"))
        peak = self.peak_mib
        if budget.memory_mb is not None and peak is not None and peak > budget.memory_mb:
            over.append(_over("memory", peak, budget.memory_mb, "MiB"))
        allocations = self.counts.get("allocations")
        if (
            budget.allocations is not None
            and allocations is not None
            and allocations > budget.allocations
        ):
            over.append(f"allocations {allocations} > {budget.allocations}")
        queries = self.counts.get("queries")
        if budget.queries is not None and queries is not None and queries > budget.queries:
            over.append(f"queries {queries} > {budget.queries}")
        return over

    def properties(self) -> list[tuple[str, object]]:
        """The figures as ``user_properties`` entries, which JUnit XML carries to CI tools."""
        properties: list[tuple[str, object]] = [
            ("perf_wall_ms", round(self.wall_ms, 3)),
            ("perf_cpu_ms", round(self.cpu_ms, 3)),
        ]
        for key in ("gc_collections", "queries", "allocations"):
            if key in self.counts:
                properties.append((f"perf_{key}", self.counts[key]))
        peak = self.peak_mib
        if peak is not None:
            properties.append(("perf_peak_mib", round(peak, 3)))
        properties.append(("perf_repeat", self.calls))
        return properties


def _median(values: list[float]) -> float:
    import statistics  # not at import time: the plugin loads in every pytest run

    return statistics.median(values)


def _over(name: str, measured: float, limit: float, unit: str) -> str:
    return f"{name} {format_amount(measured)} {unit} > {format_limit(limit)} {unit}"


def format_amount(value: float) -> str:
    """A measured time or size: one decimal, three below 1 (``0.042 ms``) so it is never 0.0."""
    return f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def measure(call: Callable[[], object], budget: Budget) -> tuple[Measurement, object]:
    """Call ``call`` ``budget.repeat`` times, measured; returns the measurement and the last result.

    An exception of a call propagates at once (the test failed; nothing is
    measured); the memray capture is cleaned up first.
    """
    from profiler_kit.check.measure import timed_call

    measurement = Measurement()
    result: list[object] = [None]

    def once() -> None:
        result[0] = call()

    memory_timing = _memory_call(once, measurement) if budget.measures_memory else None
    timings: list[Timing] = []
    for _ in range(budget.repeat - measurement.calls):
        timings.append(timed_call(once))
        measurement.calls += 1
    measured = timings
    if memory_timing is not None:
        measured = [memory_timing, *timings]
        if not timings:  # its timings include memray's overhead: used when it is the only call
            timings = [memory_timing]
    measurement.wall_s = [timing.wall_s for timing in timings]
    measurement.cpu_s = [timing.cpu_s for timing in timings]
    measurement.counts["gc_collections"] = max(timing.gc_collections for timing in measured)
    measurement.counts["queries"] = max(timing.queries for timing in measured)
    return measurement, result[0]


def _memory_call(once: Callable[[], None], measurement: Measurement) -> Timing | None:
    """One call under memray (``count_memory``), also timed and counted like ``timed_call``.

    Not ``count_memory(lambda: timed_call(once))``: the query counter would
    start inside memray's tracking, and SQLAlchemy's event registration alone
    adds some 200 allocations, present or not depending on which test modules
    imported SQLAlchemy. So queries are counted around memray, and inside it
    only the garbage collector's callback and the clocks run (count_memory
    has already collected). ``None`` when memray could not start (the call
    was not made).
    """
    from profiler_kit.check.measure import clock, count_memory, query_counter
    from profiler_kit.errors import MemoryUnavailableError

    outcome: dict[str, Any] = {}

    def tracked() -> None:
        try:
            with clock() as timing:
                once()
            outcome["timing"] = timing
        except BaseException as error:  # re-raised after count_memory has cleaned up
            outcome["error"] = error

    with query_counter() as queries:
        try:
            measurement.counts.update(count_memory(tracked))
        except MemoryUnavailableError as error:
            measurement.notes.append(f"memory not measured: {error}")
    failure = outcome.pop("error", None)
    if failure is not None:
        raise failure
    if "timing" not in outcome:
        return None
    measurement.calls += 1
    timing: Timing = outcome["timing"]
    timing.queries = queries.count
    return timing
