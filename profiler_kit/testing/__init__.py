"""Helpers for tests that assert on captures, ours and users' alike.

Captures reach the store through a background writer, so a test that has
just sent a request must wait for them::

    from profiler_kit.testing import wait_for_captures

    captures = wait_for_captures(store_path, 1, where=lambda c: c.route == "/checkout")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from profiler_kit.errors import StoreError
from profiler_kit.store import CaptureSummary, open_store
from profiler_kit.store.blob import unpack
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture

__all__ = [
    "HOT_SCRIPT",
    "cpu_blob",
    "make_capture",
    "frame_string",
    "memory_blob",
    "read_captures",
    "stored_texts",
    "wait_for_captures",
]


def read_captures(
    store: Path, where: Callable[[CaptureSummary], bool] | None = None
) -> list[CaptureSummary]:
    """Captures in a store (oldest first); an absent or unreadable store reads as empty."""
    if not Path(store).exists():
        return []
    try:
        with open_store(store, create=False) as opened:
            summaries = opened.summaries()
    except StoreError:
        return []
    chosen = [s for s in summaries if where is None or where(s)]
    return sorted(chosen, key=lambda s: (s.started_at, s.id))


def wait_for_captures(
    store: Path,
    count: int,
    *,
    timeout: float = 20.0,
    settle: float = 0.3,
    where: Callable[[CaptureSummary], bool] | None = None,
) -> list[CaptureSummary]:
    """Poll the store until it holds at least ``count`` matching captures.

    Then waits ``settle`` seconds and reads again, so that an unexpected extra
    capture written just after is seen too. Returns what it found, oldest
    first, even when the timeout ran out first: the caller asserts on it.
    """
    deadline = time.monotonic() + timeout
    found: list[CaptureSummary] = []
    while time.monotonic() < deadline:
        found = read_captures(store, where)
        if len(found) >= count:
            time.sleep(settle)
            return read_captures(store, where)
        time.sleep(0.05)
    return found


def frame_string(name: str, file: str = "/app/views.py", line: int = 10) -> str:
    """A frame as stored profiles name it: function, file and first line joined by NULs."""
    return f"{name}\x00{file}\x00{line}"


def cpu_blob(records: list[tuple[list[str], float]], *, start_time: float = 0.0) -> bytes:
    """A stored CPU profile made of (root-first stack of frame strings, seconds) samples.

    Lets tests build captures whose hotspots and totals are known exactly.
    """
    from profiler_kit.capture.cpu import encode_session, session_from_records

    total = sum(seconds for _, seconds in records)
    session = session_from_records(
        records, start_time=start_time, duration=total, interval=0.001, cpu_time=total
    )
    return encode_session(session)


def memory_blob(sites: Sequence[tuple[int, int, list[tuple[str, str, int]]]]) -> bytes:
    """A stored memory summary with these (bytes, count, innermost-first stack) top sites."""
    from profiler_kit.capture.memory_summary import AllocationSite, MemorySummary, encode_summary

    summary = MemorySummary(
        peak_bytes=max((b for b, _, _ in sites), default=0),
        total_bytes=sum(b for b, _, _ in sites),
        allocations=sum(c for _, c, _ in sites),
        leaked_bytes=0,
        leaked_allocations=0,
        top_sites=[AllocationSite(b, c, list(stack)) for b, c, stack in sites],
    )
    return encode_summary(summary)


def stored_texts(store: Path, capture_id: str) -> dict[str, list[str]]:
    """Every column of a capture's raw row as text, compressed payloads decompressed too.

    For privacy assertions: a secret that appears in none of these texts is
    not stored anywhere in the capture.
    """
    import contextlib
    import sqlite3
    import zlib

    db = sqlite3.connect(f"file:{Path(store).absolute()}?mode=ro", uri=True)
    try:
        cursor = db.execute("SELECT * FROM captures WHERE id = ?", (capture_id,))
        names = [description[0] for description in cursor.description]
        row = cursor.fetchone()
    finally:
        db.close()
    if row is None:
        raise KeyError(capture_id)
    texts: dict[str, list[str]] = {}
    for name, value in zip(names, row, strict=True):
        if value is None:
            texts[name] = []
        elif isinstance(value, bytes):
            texts[name] = [value.decode("latin-1")]
            with contextlib.suppress(zlib.error):  # not every blob is a packed payload
                texts[name].append(unpack(value).decode("utf-8", "replace"))
        else:
            texts[name] = [str(value)]
    return texts


HOT_SCRIPT = """\
import time


def burn_cpu_hotspot():
    deadline = time.perf_counter() + 0.3
    total = 0
    while time.perf_counter() < deadline:
        for i in range(2000):
            total += i * i % 7
    return total


def light_cpu_helper():
    deadline = time.perf_counter() + 0.03
    total = 0
    while time.perf_counter() < deadline:
        for i in range(2000):
            total += i % 3
    return total


burn_cpu_hotspot()
light_cpu_helper()
print("burned")
"""
"""A script with one dominant function (``burn_cpu_hotspot``, ~0.3 s) and a light one."""


def make_capture(
    records: list[tuple[list[str], float]] | None = None,
    *,
    started_at: float | None = None,
    **changes: Any,
) -> Capture:
    """A request capture (GET /orders/{id}, status 200) whose CPU profile is ``records``.

    ``records`` are root-first stacks of :func:`frame_string` strings with
    seconds; wall and CPU time default to their total. Any other field is set
    through ``changes``.
    """
    started = time.time() - 600 if started_at is None else started_at
    stacks = records if records is not None else [([frame_string("view")], 0.1)]
    total = sum(seconds for _, seconds in stacks)
    capture = Capture(
        id=new_capture_id(started),
        kind="request",
        service="shop",
        host="web-7",
        pid=4242,
        started_at=started,
        wall_s=total,
        cpu_s=total,
        reason="slow",
        target="GET /orders/{id}",
        method="GET",
        route="/orders/{id}",
        path="/orders/17",
        status=200,
        cpu_profile=cpu_blob(stacks, start_time=started),
    )
    return capture.replace(**changes)
