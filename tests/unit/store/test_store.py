"""The SQLite capture store: round trips, lookups, file identity and concurrent writers."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from profiler_kit.errors import (
    CaptureNotFoundError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
)
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture
from profiler_kit.store.sqlite import APPLICATION_ID, SCHEMA_VERSION, CaptureSummary, open_store
from profiler_kit.testing import make_capture as hand_made_capture


def make_capture(started_at: float, **changes: object) -> Capture:
    """A capture with every field set to a distinctive, non-default value."""
    capture = hand_made_capture(
        started_at=started_at,
        service="billing",
        host="web-1",
        wall_s=0.125,
        cpu_s=0.0625,
        target="GET /invoices/{id}",
        route="/invoices/{id}",
        path="/invoices/17",
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        peak_memory=12_345_678,
        allocated_bytes=98_765_432,
        allocations=1234,
        cpu_profile=bytes(range(256)) * 4,
        memory_profile=b"\x00\xffmemory\x00",
        extra={"interval": 0.001, "python": "3.11.7", "nested": {"a": [1, 2, None]}, "é": "ü"},
    )
    return capture.replace(**changes)


def raw_connect(path: Path) -> closing[sqlite3.Connection]:
    """A plain SQLite connection that is closed on leaving the ``with`` block."""
    return closing(sqlite3.connect(path, isolation_level=None))


def test_add_get_round_trips_every_field(tmp_path: Path) -> None:
    """A capture read back by id equals the one written, payload bytes and extra dict included."""
    capture = make_capture(1_700_000_000.25)
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add(capture)
        got = store.get(capture.id)
    assert got == capture
    assert got.cpu_profile == capture.cpu_profile
    assert isinstance(got.cpu_profile, bytes)
    assert got.extra == capture.extra


def test_round_trip_survives_reopening(tmp_path: Path) -> None:
    """Captures persist in the file: a new Store on the same path reads them."""
    capture = make_capture(1_700_000_000.0, cpu_profile=None, memory_profile=None, extra={})
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add(capture)
    with open_store(tmp_path / "s.sqlite3", create=False) as store:
        assert store.get(capture.id) == capture


def test_latest_summaries_and_count(tmp_path: Path) -> None:
    """latest() is the newest start; summaries() lists newest first; count() counts."""
    # GIVEN captures added out of time order, of two kinds
    times = [1_700_000_300.0, 1_700_000_100.0, 1_700_000_200.0]
    captures = [make_capture(t) for t in times]
    captures[0] = captures[0].replace(kind="script", route=None)
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.add_many(captures) == len(captures)
        # WHEN reading them back
        latest = store.latest()
        latest_request = store.latest("request")
        summaries = store.summaries()
        limited = store.summaries(limit=2)
        count = store.count()
    # THEN ordering follows started_at, not insertion
    by_time = sorted(captures, key=lambda c: c.started_at, reverse=True)
    assert latest == by_time[0]
    assert latest_request == max(
        (c for c in captures if c.kind == "request"), key=lambda c: c.started_at
    )
    assert [s.id for s in summaries] == [c.id for c in by_time]
    assert [s.id for s in limited] == [c.id for c in by_time[:2]]
    assert count == len(captures)
    # AND a summary carries every non-payload field unchanged
    expected = {f.name: getattr(by_time[0], f.name) for f in dataclasses.fields(CaptureSummary)}
    assert dataclasses.asdict(summaries[0]) == expected


def test_latest_on_empty_store_raises(tmp_path: Path) -> None:
    """latest() on a store without captures raises CaptureNotFoundError."""
    with open_store(tmp_path / "s.sqlite3") as store, pytest.raises(CaptureNotFoundError):
        store.latest()


def test_get_by_unique_prefix(tmp_path: Path) -> None:
    """A prefix matching one id (any case) returns that capture."""
    # GIVEN two captures started far apart, so their ids differ early on
    first = make_capture(1_600_000_000.0)
    second = make_capture(1_800_000_000.0)
    assert first.id[:6] != second.id[:6]
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add_many([first, second])
        # WHEN asking by a short prefix, upper or lower case
        assert store.get(first.id[:6]).id == first.id
        assert store.get(second.id[:6].lower()).id == second.id


def test_get_ambiguous_prefix_raises(tmp_path: Path) -> None:
    """A prefix matching several ids raises CaptureNotFoundError saying so."""
    # GIVEN two captures started in the same millisecond (shared 10-char time prefix)
    first = make_capture(1_700_000_000.0)
    second = make_capture(1_700_000_000.0)
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add_many([first, second])
        with pytest.raises(CaptureNotFoundError, match="several"):
            store.get(first.id[:10])
        # The full id of either is still unambiguous
        assert store.get(first.id).id == first.id
        assert store.get(second.id).id == second.id


def test_get_missing_id_raises(tmp_path: Path) -> None:
    """An id that is not stored raises CaptureNotFoundError naming it."""
    missing = new_capture_id(1_700_000_000.0)
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add(make_capture(1_600_000_000.0))
        with pytest.raises(CaptureNotFoundError, match=missing):
            store.get(missing)


def test_duplicate_ids_are_ignored(tmp_path: Path) -> None:
    """add_many of an already stored id adds nothing and keeps the original row."""
    original = make_capture(1_700_000_000.0)
    with open_store(tmp_path / "s.sqlite3") as store:
        assert store.add_many([original]) == 1
        assert store.add_many([original.replace(target="changed")]) == 0
        assert store.count() == 1
        assert store.get(original.id).target == original.target


def test_add_many_counts_only_new_rows(tmp_path: Path) -> None:
    """add_many returns how many of the given captures were new."""
    old = make_capture(1_700_000_000.0)
    new = make_capture(1_700_000_001.0)
    with open_store(tmp_path / "s.sqlite3") as store:
        store.add(old)
        assert store.add_many([old, new]) == 1
        assert store.count() == 2


def test_file_is_wal_with_version_and_application_id(tmp_path: Path) -> None:
    """A new store is in WAL mode and stamped with SCHEMA_VERSION and APPLICATION_ID."""
    path = tmp_path / "deep" / "dir" / "s.sqlite3"
    with open_store(path):
        pass
    with raw_connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_future_schema_is_refused(tmp_path: Path) -> None:
    """A store with a newer user_version raises StoreVersionError naming that version."""
    path = tmp_path / "s.sqlite3"
    with open_store(path) as store:
        store.add(make_capture(1_700_000_000.0))
    future = SCHEMA_VERSION + 7
    with raw_connect(path) as db:
        db.execute(f"PRAGMA user_version = {future}")
    with pytest.raises(StoreVersionError) as caught:
        open_store(path)
    assert f"schema {future}" in str(caught.value)
    # And the file was left as it was
    with raw_connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == future


def test_random_bytes_are_corrupt(tmp_path: Path) -> None:
    """A file of random bytes raises StoreCorruptError naming the path."""
    path = tmp_path / "noise.sqlite3"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(StoreCorruptError) as caught:
        open_store(path)
    assert str(path) in str(caught.value)


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    """Another application's SQLite file raises StoreCorruptError and is left untouched."""
    path = tmp_path / "other.sqlite3"
    with raw_connect(path) as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("INSERT INTO users VALUES ('alice')")
    with pytest.raises(StoreCorruptError) as caught:
        open_store(path)
    assert str(path) in str(caught.value)
    with raw_connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master")]
        assert tables == ["users"]
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0


def test_other_application_id_is_refused(tmp_path: Path) -> None:
    """An SQLite file stamped with a different application_id is refused."""
    path = tmp_path / "other.sqlite3"
    with raw_connect(path) as db:
        db.execute("PRAGMA application_id = 12345")
    with pytest.raises(StoreCorruptError):
        open_store(path)


def test_open_missing_without_create_raises(tmp_path: Path) -> None:
    """create=False on a missing path raises StoreError and creates nothing."""
    path = tmp_path / "absent" / "s.sqlite3"
    with pytest.raises(StoreError) as caught:
        open_store(path, create=False)
    assert str(path) in str(caught.value)
    assert not path.exists()
    assert not path.parent.exists()


def test_directory_path_raises(tmp_path: Path) -> None:
    """A directory given as the store path raises StoreError."""
    with pytest.raises(StoreError, match="directory"):
        open_store(tmp_path)


_WRITER = """
import sys, time
from pathlib import Path
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture
from profiler_kit.store import open_store

path, worker, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
start_at = float(sys.argv[4])
while time.time() < start_at:
    time.sleep(0.001)
with open_store(path) as store:
    for n in range(count):
        store.add(Capture(
            id=new_capture_id(), kind="script", service=f"w{worker}", host="h", pid=worker,
            started_at=time.time(), wall_s=0.0, cpu_s=0.0, reason="always",
            target=f"{worker}:{n}", cpu_profile=b"x" * 64,
        ))
"""


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """4 processes appending to one fresh store at the same time store all 800 captures."""
    # GIVEN a freshly initialised, empty store and 4 writers released at the same instant
    # (creation itself is covered by test_concurrent_first_open_of_a_new_store)
    path = tmp_path / "shared" / "s.sqlite3"
    open_store(path).close()
    workers, per_worker = 4, 200
    start_at = time.time() + 0.5
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(w), str(per_worker), str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in range(workers)
    ]
    # WHEN they all finish
    failures = []
    for process in processes:
        _, err = process.communicate(timeout=60)
        if process.returncode != 0:
            failures.append(err.decode(errors="replace"))
    assert failures == []
    # THEN every capture from every writer is there exactly once
    with open_store(path, create=False) as store:
        summaries = store.summaries()
        assert store.count() == workers * per_worker
    targets = {s.target for s in summaries}
    assert targets == {f"{w}:{n}" for w in range(workers) for n in range(per_worker)}


def test_concurrent_first_open_of_a_new_store(tmp_path: Path) -> None:
    """Many processes opening one missing store at the same moment all succeed."""
    # GIVEN a path nobody has created yet, and 8 processes released together
    path = tmp_path / "fresh.sqlite3"
    go = tmp_path / "go"
    snippet = (
        "import os, sys, time\n"
        "from profiler_kit.store.sqlite import open_store\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
        f"with open_store({str(path)!r}) as store: print(store.count())\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", snippet],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(8)
    ]
    time.sleep(0.5)
    # WHEN they all open it at once
    go.touch()
    results = [process.communicate(timeout=60) for process in processes]
    # THEN every one of them got a usable, empty store
    assert [process.returncode for process in processes] == [0] * 8, results
    assert all(out.strip() == b"0" for out, _ in results)
