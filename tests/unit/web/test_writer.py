"""The background writer and store retention: bounded, never blocking, never raising."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from profiler_kit.store import open_store
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture
from profiler_kit.web.counters import Stats
from profiler_kit.web.writer import BackgroundWriter


def _capture(started_at: float, payload: bytes = b"") -> Capture:
    return Capture(
        id=new_capture_id(started_at), kind="request", service="svc", host="h", pid=1,
        started_at=started_at, wall_s=0.01, cpu_s=0.01, reason="sampled", target="GET /x",
        method="GET", route="/x", path="/x", status=200, cpu_profile=payload or None,
    )  # fmt: skip


def test_retention_keeps_the_newest_captures(tmp_path: Path) -> None:
    """Beyond max_captures the oldest captures go first."""
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add_many([_capture(1_700_000_000 + i) for i in range(50)])
        removed = store.enforce_retention(max_captures=10, max_bytes=0)
        kept = sorted(s.started_at for s in store.summaries())
    assert removed == 40
    assert kept == [1_700_000_000 + i for i in range(40, 50)]


def test_retention_by_size_removes_the_oldest(tmp_path: Path) -> None:
    """A store over max_bytes sheds its oldest captures, whatever their number."""
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add_many([_capture(1_700_000_000 + i, b"x" * 20_000) for i in range(40)])
        removed = store.enforce_retention(max_captures=0, max_bytes=100_000)
        remaining = [s.started_at for s in store.summaries()]
    assert removed > 0
    assert min(remaining) == 1_700_000_000 + removed  # the oldest went first


def test_writer_writes_and_flushes(tmp_path: Path) -> None:
    """Submitted captures reach the store; flush waits for them."""
    stats = Stats()
    writer = BackgroundWriter(tmp_path / "s.sqlite3", stats, queue_size=100)
    for i in range(20):
        assert writer.submit(lambda i=i: _capture(1_700_000_000 + i))
    assert writer.flush(timeout=10)
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.count() == 20
    assert stats.get("captures.written") == 20


def test_full_queue_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    """With the writer stuck, submissions past queue_size return False at once and are counted."""
    stats = Stats()
    building = threading.Event()
    release = threading.Event()
    writer = BackgroundWriter(tmp_path / "s.sqlite3", stats, queue_size=2)

    def stuck() -> Capture:
        building.set()
        release.wait(10)
        return _capture(1_700_000_000)

    assert writer.submit(stuck)
    # The writer gathers a batch for a moment before building it: only once it
    # is inside the stuck builder is the queue empty and the thread busy.
    assert building.wait(10)
    accepted = [writer.submit(lambda: _capture(1_700_000_001)) for _ in range(5)]
    release.set()
    assert writer.flush(timeout=10)
    assert accepted == [True, True, False, False, False]
    assert stats.get("dropped.queue_full") == accepted.count(False)


def test_unwritable_store_is_counted_not_raised(tmp_path: Path) -> None:
    """A store path that cannot exist drops the captures with a counter and one failure."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    stats = Stats()
    writer = BackgroundWriter(blocker / "s.sqlite3", stats, queue_size=10)
    for i in range(3):
        writer.submit(lambda i=i: _capture(1_700_000_000 + i))
    assert writer.flush(timeout=10)
    assert stats.get("dropped.store_error") == 3
    assert stats.get("error.writing to the capture store") >= 1


def test_failing_builder_is_counted(tmp_path: Path) -> None:
    """A capture whose building raises is counted; the others are still written."""
    stats = Stats()
    writer = BackgroundWriter(tmp_path / "s.sqlite3", stats, queue_size=10)

    def broken() -> Capture:
        raise RuntimeError("summarising failed")

    writer.submit(broken)
    writer.submit(lambda: _capture(1_700_000_000))
    assert writer.flush(timeout=10)
    assert stats.get("error.building a capture") == 1
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.count() == 1


_SQLITE_MEMORY_PROBE = """
import ctypes, ctypes.util, sys
from pathlib import Path
sys.path[:0] = [sys.argv[2]]
from test_writer import _capture
from profiler_kit.web.counters import Stats
from profiler_kit.web.writer import BackgroundWriter
writer = BackgroundWriter(Path(sys.argv[1]), Stats(), queue_size=1000, max_captures=300)
for i in range(900):
    writer.submit(lambda i=i: _capture(1_700_000_000 + i, i.to_bytes(4, "little") * 4_000))
assert writer.flush(timeout=60)
lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
lib.sqlite3_memory_used.restype = ctypes.c_int64
print(lib.sqlite3_memory_used())
"""


def test_writer_connection_keeps_sqlite_memory_small(tmp_path: Path) -> None:
    """SQLite's page cache on the writer stays far below its 2 MiB default.

    The writer lives as long as the app, and a store that is appended to and
    trimmed has every page pass through the cache: with the default the app's
    RSS grows by 2 MiB during its first thousands of captures (measured in the
    soak). Run in a child process so the count is the writer's connection alone.
    """
    probe = subprocess.run(
        [sys.executable, "-c", _SQLITE_MEMORY_PROBE, str(tmp_path / "s.sqlite3"),
         str(Path(__file__).parent)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    used = int(probe.stdout.split()[-1])
    if used == 0:
        pytest.skip("this Python's SQLite keeps no memory statistics")
    assert used < 768 * 1024, f"SQLite holds {used / 2**20:.2f} MiB after 900 captures"
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.count() <= 300 + 64
