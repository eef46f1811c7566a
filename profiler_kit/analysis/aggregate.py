"""Aggregation of many captures into per-route plain data, in one streaming pass.

Captures are read in batches and folded into per-route accumulators: the
durations (for percentiles), counters, and the CPU time of every distinct
stack. Identical stacks from thousands of requests collapse into one entry,
so memory grows with the variety of code paths, not with the number of
captures, and the call tree is built once at the end. Nothing here renders.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from profiler_kit.analysis.calltree import CallTree, FrameTable
from profiler_kit.analysis.durations import DurationSummary, percentile
from profiler_kit.analysis.sources import iter_selected
from profiler_kit.capture.cpu import CpuProfile, decode_profile
from profiler_kit.capture.memory_summary import MemorySummary, decode_summary
from profiler_kit.store import Selection, open_store
from profiler_kit.store.record import Capture

__all__ = ["Aggregate", "RouteAggregate", "aggregate", "percentile", "route_key"]

SLOWEST_KEPT = 5
Frame = tuple[str, str, int]


def route_key(capture: Capture) -> str:
    """How captures are grouped: ``GET /items/{id}`` for requests, the target for scripts."""
    if capture.kind == "request":
        return f"{capture.method or 'GET'} {capture.route or capture.path or '/'}"
    return capture.target


def is_error(capture: Capture) -> bool:
    if capture.kind == "request":
        return bool(capture.extra.get("error")) or (capture.status or 0) >= 500
    return bool(capture.exit_code)


@dataclass
class RouteAggregate:
    """Everything kept about one route while streaming."""

    key: str
    method: str | None
    route: str | None
    captures: int = 0
    errors: int = 0
    cpu_total: float = 0.0
    gc_total: float = 0.0
    peak_memory_max: int | None = None
    wall: DurationSummary = field(default_factory=DurationSummary)
    stack_weights: dict[tuple[int, ...], float] = field(default_factory=dict)
    frame_captures: Counter[int] = field(default_factory=Counter)
    memory_sites: dict[tuple[Frame, ...], list[int]] = field(default_factory=dict)
    slowest: list[tuple[float, str, int]] = field(default_factory=list)  # min-heap

    def add(self, capture: Capture, source: int, table: FrameTable) -> None:
        """Fold one capture in; a payload that cannot be decoded raises ``ValueError``
        before anything is counted."""
        profile = decode_profile(capture.cpu_profile) if capture.cpu_profile else None
        memory = decode_summary(capture.memory_profile) if capture.memory_profile else None
        try:
            gc_s = float(capture.extra.get("gc_s") or 0.0)
        except (TypeError, ValueError) as error:
            raise ValueError(f"unreadable GC time: {error}") from error
        self.captures += 1
        self.errors += is_error(capture)
        self.cpu_total += capture.cpu_s
        self.gc_total += gc_s
        self.wall.add(capture.wall_s)
        if capture.peak_memory is not None:
            self.peak_memory_max = max(self.peak_memory_max or 0, capture.peak_memory)
        entry = (capture.wall_s, capture.id, source)
        if len(self.slowest) < SLOWEST_KEPT:
            heapq.heappush(self.slowest, entry)
        elif entry > self.slowest[0]:
            heapq.heapreplace(self.slowest, entry)
        if profile is not None:
            self._add_profile(profile, table)
        if memory is not None:
            self._add_memory(memory)

    def _add_profile(self, profile: CpuProfile, table: FrameTable) -> None:
        ids = table.ids_for(profile)
        weights = self.stack_weights
        seen: set[int] = set()
        for stack_index, seconds in profile.stack_weights().items():
            stack = tuple(ids[i] for i in profile.stacks[stack_index])
            weights[stack] = weights.get(stack, 0.0) + seconds
            seen.update(stack)
        self.frame_captures.update(seen)

    def _add_memory(self, summary: MemorySummary) -> None:
        for site in summary.top_sites:
            key = tuple(site.stack)
            totals = self.memory_sites.setdefault(key, [0, 0, 0])
            totals[0] += site.bytes
            totals[1] += site.count
            totals[2] += 1

    # -- read once the pass is over -------------------------------------------

    def tree(self, table: FrameTable) -> CallTree:
        tree = CallTree(table)
        for stack, seconds in self.stack_weights.items():
            tree.add_stack(stack, seconds)
        return tree

    @property
    def durations(self) -> list[float]:
        """Every duration while the route is small enough to keep them exactly."""
        return self.wall.values()

    def sorted_durations(self) -> list[float]:
        return self.wall.values()

    def slowest_first(self) -> list[tuple[float, str, int]]:
        return sorted(self.slowest, reverse=True)


@dataclass
class Aggregate:
    """Per-route aggregates of some stores, with the frames they share."""

    table: FrameTable
    routes: dict[str, RouteAggregate] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    first: float | None = None
    last: float | None = None

    @property
    def captures(self) -> int:
        return sum(route.captures for route in self.routes.values())

    def fetch(self, capture_id: str, source: int) -> Capture:
        """Read one capture back (for the slowest-capture views)."""
        with open_store(self.sources[source], create=False) as store:
            return store.get(capture_id)


def aggregate(
    stores: Sequence[Path],
    selection: Selection | None = None,
    *,
    table: FrameTable | None = None,
    on_capture: Callable[[], None] | None = None,
) -> Aggregate:
    """Fold every selected capture of ``stores`` into an :class:`Aggregate`.

    A capture seen in several stores counts once. A capture whose payload
    cannot be decoded is skipped and listed in ``skipped``; the rest still
    count. Store-level errors (a corrupt file) propagate as ``StoreError``.
    """
    result = Aggregate(table=table if table is not None else FrameTable(), sources=list(stores))
    for source, capture in iter_selected(stores, selection, on_read=on_capture):
        _fold(result, capture, source)
    return result


def _fold(result: Aggregate, capture: Capture, source: int) -> None:
    key = route_key(capture)
    route = result.routes.get(key)
    fresh = route is None
    if route is None:
        route = RouteAggregate(key, capture.method, capture.route)
    try:
        route.add(capture, source, result.table)
    except ValueError as error:
        result.skipped.append(f"{capture.id}: {error}")
        return
    if fresh:
        result.routes[key] = route  # listed only once something of it could be read
    result.first = (
        capture.started_at if result.first is None else min(result.first, capture.started_at)
    )
    result.last = (
        capture.started_at if result.last is None else max(result.last, capture.started_at)
    )
