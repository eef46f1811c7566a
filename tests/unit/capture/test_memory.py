"""Memory engine: memray tracking, the stored summary and the process-wide lock."""

from __future__ import annotations

import json
import os
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.capture.memory import MemoryTracker, memray_lock, tracking
from profiler_kit.capture.memory_summary import (
    AllocationSite,
    MemorySummary,
    decode_summary,
    encode_summary,
    summarise,
)
from profiler_kit.errors import MemoryUnavailableError

pytest.importorskip("memray")

SIZE = 20 * 1024 * 1024
_KEEP: list[bytearray] = []


def _allocate_20_mb() -> int:
    """Allocate SIZE bytes on one line and return that line's number."""
    data, line = bytearray(SIZE), sys._getframe().f_lineno
    assert len(data) == SIZE
    return line


def _allocate_via_helper() -> int:
    """Call _allocate_20_mb one level down, so its site has a two-frame stack.

    A second, smaller buffer is alive from this frame at the peak, so the
    capture has at least two sites, and they share frames, whatever else the
    interpreter happens to allocate (3.13 allocates less around the call).
    """
    beside = bytearray(SIZE // 64)
    line = _allocate_20_mb()
    assert len(beside) == SIZE // 64
    return line


def _allocate_in_one_call() -> int:
    """The frame both sites share: memray on 3.13 knows only the frames
    entered after the tracker started, so the fixture's own frame is in no
    stack there."""
    return _allocate_via_helper()


def _example_summary() -> MemorySummary:
    stack = [("f", "/app/a.py", 10), ("g", "/app/b.py", 2)]
    site = AllocationSite(bytes=4096, count=3, stack=stack)
    leak = AllocationSite(bytes=128, count=1, stack=[("h", "/app/c.py", 7)])
    return MemorySummary(
        peak_bytes=10_000,
        total_bytes=50_000,
        allocations=42,
        leaked_bytes=128,
        leaked_allocations=1,
        top_sites=[site],
        leaks=[leak],
        notes=["forked twice", "unicode ✓"],
    )


@pytest.fixture(scope="module")
def capture() -> Iterator[tuple[Path, int]]:
    """One real memray capture of _allocate_20_mb, shared by the tests that read it."""
    tracker = MemoryTracker()
    tracker.start()
    try:
        line = _allocate_in_one_call()
    finally:
        tracker.stop()
    yield tracker.path, line
    tracker.discard()


def test_encode_decode_round_trip() -> None:
    """decode_summary(encode_summary(s)) == s, stacks included."""
    summary = _example_summary()
    assert decode_summary(encode_summary(summary)) == summary


@pytest.mark.parametrize(
    "blob",
    [
        os.urandom(64),
        b'{"format": "profiler-kit/memory-1"}',  # not compressed
        zlib.compress(b"not json"),
        zlib.compress(json.dumps({"format": "other", "peak_bytes": 1}).encode()),
        zlib.compress(json.dumps({"format": "profiler-kit/memory-1"}).encode()),
        zlib.compress(b"[1, 2]"),
    ],
    ids=["random", "uncompressed", "not-json", "other-format", "missing-fields", "list"],
)
def test_decode_garbage_raises_value_error(blob: bytes) -> None:
    """Anything that is not an encoded summary raises ValueError."""
    with pytest.raises(ValueError, match="unreadable memory summary"):
        decode_summary(blob)


def test_decode_json_scalar_raises_value_error() -> None:
    """A compressed JSON scalar is refused with ValueError like other foreign data."""
    with pytest.raises(ValueError):
        decode_summary(zlib.compress(b'"a string"'))


def test_summarise_finds_the_allocating_line(capture: tuple[Path, int]) -> None:
    """The top allocation site of a 20 MB allocation is that function and line; peak >= 20 MB."""
    path, line = capture
    summary = summarise(path)
    assert summary.peak_bytes >= SIZE
    assert summary.total_bytes >= summary.peak_bytes
    assert summary.allocations >= 1
    top = summary.top_sites[0]
    assert top.bytes >= SIZE
    function, file, lineno = top.stack[0]
    assert (function, lineno) == (_allocate_20_mb.__name__, line)
    assert Path(file) == Path(__file__)
    # The allocation was freed on return, so it is not reported as leaked
    assert all(site.bytes < SIZE for site in summary.leaks)
    assert summary.leaked_bytes < SIZE


def test_summarise_drop_outer_trims_and_filters(capture: tuple[Path, int]) -> None:
    """drop_outer sees stacks outermost first, trims that many outer frames, and -1 drops a site."""
    path, line = capture
    full = summarise(path)
    innermost = (_allocate_20_mb.__name__, str(Path(__file__)), line)
    top_stack = full.top_sites[0].stack
    assert [frame[0] for frame in top_stack[:2]] == [
        _allocate_20_mb.__name__,
        _allocate_via_helper.__name__,
    ]
    seen: list[list[tuple[str, str, int]]] = []

    def drop_one_outer(stack: object) -> int:
        frames = list(stack)  # type: ignore[call-overload]
        seen.append(frames)
        return 1 if frames else -1

    # WHEN trimming one outer frame from every stack
    trimmed = summarise(path, drop_outer=drop_one_outer)
    # THEN the hook saw the big allocation's stack reversed (outermost first)
    assert top_stack[::-1] in seen
    # AND the stored stack lost exactly its outermost frame
    assert trimmed.top_sites[0].stack == top_stack[:-1]
    assert trimmed.top_sites[0].stack[0][0] == innermost[0]
    assert trimmed.top_sites[0].bytes == full.top_sites[0].bytes
    assert trimmed.peak_bytes == full.peak_bytes

    # WHEN every stack is declared profiler machinery
    nothing = summarise(path, drop_outer=lambda stack: -1)
    # THEN no sites are kept, but the totals are still the capture's
    assert nothing.top_sites == []
    assert nothing.leaks == []
    assert nothing.peak_bytes == full.peak_bytes
    assert nothing.total_bytes == full.total_bytes


def test_real_summary_round_trips(capture: tuple[Path, int]) -> None:
    """A summary read from a real capture survives encode/decode unchanged."""
    summary = summarise(capture[0])
    assert decode_summary(encode_summary(summary)) == summary


def test_tracker_refuses_to_start_while_lock_is_held() -> None:
    """start() raises MemoryUnavailableError while memray_lock is held, and leaves it held."""
    tracker = MemoryTracker()
    assert memray_lock.acquire(blocking=False)
    try:
        with pytest.raises(MemoryUnavailableError, match="another memory capture"):
            tracker.start()
        # The failed start must not release a lock it does not own
        assert memray_lock.locked()
    finally:
        memray_lock.release()
        tracker.discard()


def test_lock_is_held_while_tracking_and_released_after_stop() -> None:
    """The lock is taken by start(), released by stop(), and a second tracker can then run."""
    first = MemoryTracker()
    assert not memray_lock.locked()
    first.start()
    try:
        assert memray_lock.locked()
        second = MemoryTracker()
        with pytest.raises(MemoryUnavailableError):
            second.start()
        second.discard()
    finally:
        first.stop()
    assert not memray_lock.locked()
    # Stopping twice is harmless and does not release someone else's lock
    first.stop()
    assert not memray_lock.locked()
    first.discard()
    with tracking() as third:
        assert memray_lock.locked()
    assert not memray_lock.locked()
    assert third.path.is_file()
    third.discard()


def test_discard_removes_file_and_directory() -> None:
    """discard() deletes the capture file and its private temporary directory."""
    with tracking() as tracker:
        _KEEP.append(bytearray(1024))
    _KEEP.clear()
    assert tracker.path.is_file()
    tracker.discard()
    assert not tracker.path.exists()
    assert not tracker.path.parent.exists()


def test_tracker_stops_itself_after_max_seconds_and_frees_the_lease() -> None:
    """A request that hangs must not hold the process's only memray tracker for ever."""
    import time

    from profiler_kit.capture.memory import MemoryTracker, memray_lock
    from profiler_kit.capture.memory_summary import allocation_totals

    tracker = MemoryTracker()
    tracker.start(max_seconds=0.2)
    try:
        before = [bytearray(4096) for _ in range(100)]
        deadline = time.monotonic() + 10
        while not tracker.expired and time.monotonic() < deadline:
            time.sleep(0.02)
        assert tracker.expired
        assert memray_lock.acquire(blocking=False), "the lease must be free once expired"
        memray_lock.release()
        after = [bytearray(4096) for _ in range(1000)]  # not tracked any more
        tracker.stop()  # the owner's stop after expiry is harmless
        total_bytes, allocations, _ = allocation_totals(tracker.path)
        assert 100 * 4096 <= total_bytes < 1000 * 4096
        assert allocations >= 100
        del before, after
    finally:
        tracker.stop()
        tracker.discard()


def test_tracker_stopped_by_its_owner_cancels_the_timer() -> None:
    from profiler_kit.capture import memory
    from profiler_kit.capture.memory import MemoryTracker

    tracker = MemoryTracker()
    tracker.start(max_seconds=60)
    assert memory._expiry.armed is tracker
    tracker.stop()
    try:
        assert not tracker.expired
        assert memory._expiry.armed is None
    finally:
        tracker.discard()


def test_sites_resolve_only_the_largest_records_but_count_them_all(
    capture: tuple[Path, int],
) -> None:
    """A limit on resolved records keeps the largest site and loses nothing from the totals."""
    import memray

    from profiler_kit.capture.memory_summary import _sites

    path, line = capture

    with memray.FileReader(str(path)) as reader:

        def records() -> Any:
            return reader.get_high_watermark_allocation_records(merge_threads=True)

        every, all_bytes, all_count = _sites(records, None)
        assert len(every) > 1, "the capture needs more than one site for this test"
        limited, limited_bytes, limited_count = _sites(records, None, limit=1)
    assert (limited_bytes, limited_count) == (all_bytes, all_count)
    assert all_bytes == sum(site.bytes for site in every)
    assert len(limited) == 1
    assert limited[0].bytes >= SIZE
    assert limited[0].stack[0][2] == line


def test_sites_keep_one_copy_of_a_frame_they_share(capture: tuple[Path, int]) -> None:
    """Stacks that share a frame hold the same tuple, not one copy each from memray."""
    import memray

    from profiler_kit.capture.memory_summary import _sites

    path, _ = capture
    with memray.FileReader(str(path)) as reader:
        sites, _, _ = _sites(
            lambda: reader.get_high_watermark_allocation_records(merge_threads=True), None
        )
    by_value: dict[tuple[str, str, int], int] = {}
    for site in sites:
        for frame in set(site.stack):
            assert by_value.setdefault(frame, id(frame)) == id(frame), f"two copies of {frame}"
    assert len(sites) > 1 and len(by_value) < sum(len(set(s.stack)) for s in sites), (
        "the capture needs sites that share frames for this test"
    )
