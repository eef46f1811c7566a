"""Selected captures folded into one set of weighted stacks: what every export writes.

All formats read this one structure, so a selection means the same captures
and the same totals whichever format is asked for. Captures are streamed from
the stores and folded as they are read: identical stacks of many captures
collapse into one entry, so memory follows the variety of code paths, not the
number of captures.

Weights are kept both as wall-clock seconds (what pyinstrument and the thread
sampler measure: the time between samples) and as sample counts, since some
formats want one, some the other, and pprof both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from profiler_kit.analysis.aggregate import route_key
from profiler_kit.analysis.calltree import FrameInfo, FrameTable
from profiler_kit.analysis.sources import iter_captures
from profiler_kit.capture.cpu import CpuProfile, decode_profile
from profiler_kit.store import Selection
from profiler_kit.store.record import Capture

__all__ = [
    "MergedStacks",
    "StackWeight",
    "apportion",
    "merge_captures",
]

Stack = tuple[int, ...]

# Stands in for the frames of a sample that kept none (every frame belonged to
# the profiler itself), so its time still counts and every stack has a leaf.
NO_FRAMES = "<no Python frames>\x00\x00"


@dataclass
class StackWeight:
    """What one distinct stack accumulated: wall-clock seconds and samples."""

    seconds: float = 0.0
    samples: int = 0


@dataclass
class MergedStacks:
    """Root-first stacks of frame ids (into ``table``) with their summed weights."""

    table: FrameTable = field(default_factory=FrameTable)
    weights: dict[Stack, StackWeight] = field(default_factory=dict)
    captures: int = 0
    without_profile: int = 0
    skipped: list[str] = field(default_factory=list)
    labels: Counter[str] = field(default_factory=Counter)
    started_at: float | None = None
    ended_at: float | None = None
    interval_s: float | None = None

    @property
    def frames(self) -> list[FrameInfo]:
        return self.table.frames

    @property
    def total_seconds(self) -> float:
        return sum(weight.seconds for weight in self.weights.values())

    @property
    def total_samples(self) -> int:
        return sum(weight.samples for weight in self.weights.values())

    @property
    def duration_s(self) -> float:
        """From the first capture's start to the last one's end: the window profiled."""
        if self.started_at is None or self.ended_at is None:
            return 0.0
        return max(self.ended_at - self.started_at, 0.0)

    def describe(self) -> str:
        """A short human name: the target of one capture, or a count and the top targets."""
        if self.captures == 1 and self.labels:
            return next(iter(self.labels))
        top = [label for label, _ in self.labels.most_common(3)]
        more = len(self.labels) - len(top)
        listed = ", ".join(top) + (f" and {more} more" if more > 0 else "")
        return f"{self.captures} captures" + (f" ({listed})" if listed else "")

    def add(self, capture: Capture) -> None:
        """Fold one capture in; an undecodable profile raises ``ValueError`` before
        anything is counted."""
        profile = decode_profile(capture.cpu_profile) if capture.cpu_profile else None
        self.captures += 1
        self.labels[route_key(capture)] += 1
        end = capture.started_at + max(capture.wall_s, 0.0)
        self.started_at = (
            capture.started_at
            if self.started_at is None
            else min(self.started_at, capture.started_at)
        )
        self.ended_at = end if self.ended_at is None else max(self.ended_at, end)
        if profile is None:
            self.without_profile += 1
            return
        interval = profile.meta.get("min_interval")
        if isinstance(interval, (int, float)) and interval > 0:
            self.interval_s = (
                float(interval) if self.interval_s is None else min(self.interval_s, interval)
            )
        self.add_profile(profile)

    def add_profile(self, profile: CpuProfile) -> None:
        """Fold one decoded CPU profile's samples in."""
        ids = self.table.ids_for(profile)
        local: dict[int, StackWeight] = {}
        for stack_index, seconds in profile.samples:
            weight = local.get(stack_index)
            if weight is None:
                weight = local[stack_index] = StackWeight()
            weight.seconds += seconds
            weight.samples += 1
        for stack_index, weight in local.items():
            stack = tuple(ids[i] for i in profile.stacks[stack_index]) or self._no_frames()
            total = self.weights.get(stack)
            if total is None:
                self.weights[stack] = weight
            else:
                total.seconds += weight.seconds
                total.samples += weight.samples

    def _no_frames(self) -> Stack:
        placeholder = CpuProfile(frames=[NO_FRAMES], stacks=[], samples=[])
        return (self.table.ids_for(placeholder)[0],)

    def sorted_stacks(self) -> list[tuple[Stack, StackWeight]]:
        """Stacks ordered by their frames' names, files and lines.

        Frame ids depend on the order captures were read in; this order does
        not, so the same captures always export to the same bytes.
        """
        frames = self.frames

        def key(item: tuple[Stack, StackWeight]) -> list[tuple[str, str, int]]:
            return [(frames[i].name, frames[i].file, frames[i].line) for i in item[0]]

        return sorted(self.weights.items(), key=key)


def apportion(values: Sequence[float], scale: float) -> list[int]:
    """``values * scale`` as integers whose sum is exactly ``round(sum(values) * scale)``.

    Rounding each value alone would let the totals of integer formats
    (microseconds, nanoseconds) drift from the capture's by up to half a unit
    per stack; rounding the running sum keeps the error of every prefix, and
    so of the total, below one unit.
    """
    out: list[int] = []
    running = 0.0
    previous = 0
    for value in values:
        running += value * scale
        current = round(running)
        out.append(current - previous)
        previous = current
    return out


def merge_captures(
    stores: Sequence[Path],
    *,
    selection: Selection | None = None,
    capture_ids: Sequence[str] = (),
    latest: bool = False,
) -> MergedStacks:
    """Fold the captures :func:`~profiler_kit.analysis.sources.iter_captures` chooses
    into one :class:`MergedStacks`.

    A capture whose profile cannot be decoded is listed in ``skipped``; the
    rest still count.
    """
    merged = MergedStacks()
    chosen = iter_captures(stores, selection=selection, capture_ids=capture_ids, latest=latest)
    for capture in chosen:
        try:
            merged.add(capture)
        except ValueError as error:
            merged.skipped.append(f"{capture.id}: {error}")
    return merged
