"""The writer's counters under a store failure that strikes after a batch is committed.

In-process and deterministic: ``Store.enforce_retention`` is made to fail the
way it does on a full disk (its DELETE needs room in the write-ahead log) or
after the 30 s busy timeout. Seen for real in test_disk_fills_up.py's 2 MiB
test, where the counters then exceed the requests served.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from profiler_kit.errors import StoreError
from profiler_kit.store import Store, open_store
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture
from profiler_kit.web.counters import Stats
from profiler_kit.web.writer import RETENTION_EVERY, BackgroundWriter


def _capture() -> Capture:
    now = time.time()
    return Capture(
        id=new_capture_id(now), kind="request", service="svc", host="host", pid=os.getpid(),
        started_at=now, wall_s=0.01, cpu_s=0.01, reason="sampled", target="GET /x",
    )  # fmt: skip


def _failing_retention(self: Store, max_captures: int, max_bytes: int) -> int:
    raise StoreError(f"cannot use capture store {self.path}: database or disk is full")


def test_failed_retention_does_not_count_written_captures_as_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Store, "enforce_retention", _failing_retention)
    stats = Stats()
    writer = BackgroundWriter(tmp_path / "captures.sqlite3", stats, max_captures=1)
    for _ in range(RETENTION_EVERY):  # one retention pass is due after these
        assert writer.submit(_capture)
    assert writer.flush(timeout=10)
    with open_store(tmp_path / "captures.sqlite3", create=False) as store:
        stored = store.count()
    counters = stats.snapshot()
    assert stats.get("error.enforcing store retention") >= 1  # the fault did strike
    assert stored == counters["captures.written"] == RETENTION_EVERY
    # Each capture is written or dropped, not both.
    assert counters.get("dropped.store_error", 0) == 0, counters
