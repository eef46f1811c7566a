"""What a memray capture file says, kept small: the stored memory summary.

memray writes every allocation to a capture file that can reach hundreds of
MB. We keep only a summary (peak, totals, the heaviest allocation stacks at
the peak and at exit) and delete the file.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from profiler_kit.capture.memory import memray_lease
from profiler_kit.store import safejson
from profiler_kit.store.blob import packed_json, unpack

__all__ = [
    "AllocationSite",
    "MemorySummary",
    "allocation_totals",
    "decode_summary",
    "encode_summary",
    "summarise",
]

FORMAT = "profiler-kit/memory-1"
TOP_SITES = 25
# Allocation records whose stacks are resolved into sites, largest first. A
# tracker held through a slow request under load records the whole process's
# allocations, and resolving every record's stack (a tuple of strings per
# frame) made a transient the allocator kept (RSS +20 MiB steps in the soak;
# 8,600 records: 19.9 MiB traced peak, 2.7 s). Beyond this many records, the
# rest still count in the totals but not as sites.
SITE_RECORDS = 2_000
Frame = tuple[str, str, int]


@dataclass
class AllocationSite:
    """Bytes and allocation count attributed to one call stack (innermost first)."""

    bytes: int
    count: int
    stack: list[Frame]


@dataclass
class MemorySummary:
    peak_bytes: int
    total_bytes: int
    allocations: int
    leaked_bytes: int
    leaked_allocations: int
    top_sites: list[AllocationSite] = field(default_factory=list)
    leaks: list[AllocationSite] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def summarise(
    path: Path,
    *,
    drop_outer: Callable[[Sequence[Frame]], int] | None = None,
    exclusive: bool = False,
) -> MemorySummary:
    """Read a memray capture file into a :class:`MemorySummary`.

    ``drop_outer`` gets a stack outermost first and says how many of its frames
    belong to the profiler's own machinery, so stacks start at the profiled
    code; a negative answer leaves the allocation out of the sites. With
    ``exclusive``, the process's memray lease is held while reading (waiting
    for it if need be), so that no tracker starting meanwhile records the
    reading as its own allocations.
    """
    if exclusive:
        with memray_lease():
            return summarise(path, drop_outer=drop_outer)
    import memray

    # Closed here, not left to memray's finaliser: on 3.13 the collector can
    # free the file object first, and the unclosed file is reported.
    with memray.FileReader(str(path)) as reader:
        summary = _summary_of(reader, drop_outer)
    return summary


def _summary_of(reader: Any, drop_outer: Callable[[Sequence[Frame]], int] | None) -> MemorySummary:
    # Not memray's native statistics: since memray 1.20 they also resolve the
    # module of every allocation site through pathlib, which interns and frees
    # path strings by the thousand per capture; in a server that churn makes
    # the interned-strings table resize over and over (1.9-2.9 MB each time),
    # and the allocator keeps the space (measured: RSS steps in the soak).
    total_bytes, allocations = _totals_by_pass(reader)
    top_sites, _, _ = _sites(
        lambda: reader.get_high_watermark_allocation_records(merge_threads=True), drop_outer
    )
    leaks, leaked_bytes, leaked_allocations = _sites(
        lambda: reader.get_leaked_allocation_records(merge_threads=True), drop_outer
    )
    return MemorySummary(
        peak_bytes=int(reader.metadata.peak_memory),
        total_bytes=total_bytes,
        allocations=allocations,
        leaked_bytes=leaked_bytes,
        leaked_allocations=leaked_allocations,
        top_sites=top_sites[:TOP_SITES],
        leaks=leaks[:TOP_SITES],
    )


def allocation_totals(path: Path) -> tuple[int, int, int]:
    """Total bytes, number of allocations and peak bytes of a memray capture file."""
    import memray

    with memray.FileReader(str(path)) as reader:
        total_bytes, allocations = _totals(path, reader)
        peak = int(reader.metadata.peak_memory)
    return total_bytes, allocations, peak


def _totals(path: Path, reader: Any) -> tuple[int, int]:
    """Total bytes and number of allocations over the whole run.

    memray's own ``stats`` command computes these in native code, twice as
    fast as a Python pass (2.4 vs 4.7 ms for 16k records); that helper lives
    in a private module, so fall back to the pass if it moves.
    """
    try:
        from memray._memray import compute_statistics

        stats = compute_statistics(str(path), report_progress=False, num_largest=1)
        return int(stats.total_memory_allocated), int(stats.total_num_allocations)
    except (ImportError, AttributeError, TypeError):
        return _totals_by_pass(reader)


def _totals_by_pass(reader: Any) -> tuple[int, int]:
    total = count = 0
    for record in reader.get_allocation_records():
        if record.size:
            total += record.size
            count += record.n_allocations
    return total, count


def _sites(
    read_records: Callable[[], Iterable[Any]],
    drop_outer: Callable[[Sequence[Frame]], int] | None,
    limit: int = SITE_RECORDS,
) -> tuple[list[AllocationSite], int, int]:
    """Sites, largest first, and the bytes and allocations of all the records.

    Two passes over ``read_records()``: the first only sums and keeps the
    positions of the ``limit`` largest records (ints, in a heap); the second
    resolves the stacks of those alone. The others count in the totals only,
    so the result is exact when there are fewer (as in most request
    captures). Records the profiler's own machinery made (``drop_outer`` < 0)
    are left out of both, among the resolved ones.
    """
    largest: list[tuple[int, int]] = []  # (size, position), smallest on top
    total_bytes = total_count = 0
    for position, record in enumerate(read_records()):
        size = record.size
        if size <= 0:
            continue
        total_bytes += size
        total_count += record.n_allocations
        if len(largest) < limit:
            heapq.heappush(largest, (size, position))
        elif size > largest[0][0]:
            heapq.heapreplace(largest, (size, position))
    chosen = {position for _, position in largest}
    del largest
    merged: dict[tuple[Frame, ...], AllocationSite] = {}
    # memray hands out fresh strings for every frame of every stack, and the
    # stacks of a capture share most of their frames: one copy of each frame
    # took the traced peak of summarising 16k records of 45-frame stacks from
    # 22.5 to 9.5 MiB. In a soak, such a transient (+150k live blocks) left
    # the server's RSS ~20 MiB higher for good.
    frames: dict[Frame, Frame] = {}
    one_copy = frames.setdefault
    for position, record in enumerate(read_records()):
        if position not in chosen or record.size <= 0:
            continue
        stack: list[Frame] = []
        for function, file, line in record.stack_trace():
            frame = (str(function), str(file), int(line))
            stack.append(one_copy(frame, frame))
        if drop_outer is not None:
            outer = drop_outer(stack[::-1])
            if outer < 0:
                total_bytes -= record.size  # allocated by the profiler itself, outside the target
                total_count -= record.n_allocations
                continue
            stack = stack[: len(stack) - outer]
        key = tuple(stack)
        site = merged.get(key)
        if site is None:
            merged[key] = AllocationSite(record.size, record.n_allocations, stack)
        else:
            site.bytes += record.size
            site.count += record.n_allocations
    sites = sorted(merged.values(), key=lambda site: site.bytes, reverse=True)
    return sites, total_bytes, total_count


def encode_summary(summary: MemorySummary) -> bytes:
    document = {"format": FORMAT, **asdict(summary)}
    return packed_json(document)


def decode_summary(blob: bytes) -> MemorySummary:
    """Inverse of :func:`encode_summary`; raises ``ValueError`` on foreign data."""
    try:
        document = safejson.loads(unpack(blob))
        if document.pop("format") != FORMAT:
            raise ValueError("unknown format")

        def frame(raw: Any) -> Frame:
            function, file, line = raw
            if not (isinstance(function, str) and isinstance(file, str) and type(line) is int):
                raise ValueError(f"malformed frame {raw!r:.80}")
            return (function, file, line)

        def sites(items: list[dict[str, Any]]) -> list[AllocationSite]:
            return [
                AllocationSite(int(s["bytes"]), int(s["count"]), [frame(f) for f in s["stack"]])
                for s in items
            ]

        document["top_sites"] = sites(document["top_sites"])
        document["leaks"] = sites(document["leaks"])
        return MemorySummary(**document)
    except (zlib.error, ValueError, TypeError, KeyError, AttributeError) as error:
        raise ValueError(f"unreadable memory summary: {error}") from error
