"""``profiler-kit collect``: merging worker stores into one, with bad inputs reported.

Worker stores are filled in-process with hand-made captures; the CLI runs in
a subprocess from ``tmp_path`` through the ``pk`` fixture of ``conftest.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import sqlite3
from pathlib import Path
from typing import Any

from profiler_kit.store import open_store
from profiler_kit.store.record import Capture
from profiler_kit.testing import frame_string
from profiler_kit.testing import make_capture as request_capture

T0 = 1_700_000_000.0
HANDLER = frame_string("handler", "/app/views.py", 10)

_sequence = itertools.count()


def make_capture(wall: float, route: str = "/items/{id}") -> Capture:
    """One hand-made request capture with a small CPU profile: half its wall time in ``handler``."""
    return request_capture(
        [([HANDLER], wall / 2)],
        started_at=T0 + next(_sequence),
        host="worker-1",
        wall_s=wall,
        reason="sampled",
        target=f"GET {route}",
        route=route,
        path=route,
        extra={"gc_s": wall / 10},
    )


def make_store(path: Path, captures: list[Capture]) -> Path:
    """A store file at ``path`` holding ``captures``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_store(path) as store:
        store.add_many(captures)
    return path


def stored(path: Path) -> dict[str, Capture]:
    """Every capture of a store by id (the store is opened read-only and closed)."""
    with open_store(path, create=False) as store:
        return {capture.id: capture for capture in store.iter_captures()}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def junk_file(path: Path) -> Path:
    """A file of random bytes with a store's suffix."""
    path.write_bytes(random.Random(20231114).randbytes(16_384))
    return path


def foreign_db(path: Path) -> Path:
    """A valid SQLite database that is not a profiler-kit store."""
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
        db.execute("INSERT INTO orders (total) VALUES (12.5)")
        db.commit()
    finally:
        db.close()
    return path


def test_merge_with_duplicates_and_bad_inputs(pk: Any) -> None:
    """Overlapping stores merge to their union; a junk file and a foreign db are named; exit 1."""
    # GIVEN two worker stores sharing two captures, a corrupt file and a foreign SQLite db
    shared = [make_capture(0.1), make_capture(0.2)]
    first = [*shared, make_capture(0.3), make_capture(0.4)]
    second = [*shared, make_capture(0.5)]
    w1 = make_store(pk.cwd / "w1.sqlite3", first)
    w2 = make_store(pk.cwd / "w2.sqlite3", second)
    junk = junk_file(pk.cwd / "junk.sqlite3")
    foreign = foreign_db(pk.cwd / "orders.db")
    before = {path: digest(path) for path in (w1, w2, junk, foreign)}

    # WHEN they are collected into a new store
    result = pk("collect", w1.name, junk.name, w2.name, foreign.name, "-o", "merged.sqlite3")

    # THEN the bad inputs are named, the rest merged, and the exit status says so
    assert result.returncode == 1, pk.explain(result)
    pk.assert_no_traceback(result)
    assert "2 input(s) skipped" in result.stderr
    skipped_lines = result.stderr.split("input(s) skipped:", 1)[1]
    assert "junk.sqlite3" in skipped_lines
    assert "orders.db" in skipped_lines
    assert "w1.sqlite3" not in skipped_lines and "w2.sqlite3" not in skipped_lines
    union = {c.id: c for c in [*first, *second]}
    read = len(first) + len(second)
    assert f"{read} captures read, {len(union)} new, {read - len(union)} duplicates" in (
        result.stderr
    )
    merged = stored(pk.cwd / "merged.sqlite3")
    assert set(merged) == set(union)
    for capture_id, capture in union.items():
        assert merged[capture_id] == capture  # every field and payload copied as it was
    # AND no input was modified, not even the foreign database or the junk file
    assert {path: digest(path) for path in before} == before
    assert set(stored(w1)) == {c.id for c in first}
    assert set(stored(w2)) == {c.id for c in second}


def test_merged_store_keeps_each_id_once(pk: Any) -> None:
    """The merged file holds one row per capture id, however many inputs held it."""
    shared = make_capture(0.1)
    inputs = [
        make_store(pk.cwd / f"w{i}.sqlite3", [shared, make_capture(0.2 + i)]) for i in range(3)
    ]

    pk("collect", *[p.name for p in inputs], "-o", "merged.sqlite3", check_rc=0)

    db = sqlite3.connect(pk.cwd / "merged.sqlite3")
    try:
        rows = db.execute("SELECT id, count(*) FROM captures GROUP BY id").fetchall()
    finally:
        db.close()
    assert len(rows) == 1 + len(inputs)
    assert all(count == 1 for _, count in rows)


def test_directory_input_is_searched_recursively(pk: Any) -> None:
    """A directory input yields every store file below it, at any depth; other files are ignored."""
    spool = pk.cwd / "spool"
    a = [make_capture(0.1), make_capture(0.2)]
    b = [make_capture(0.3)]
    c = [make_capture(0.4), make_capture(0.5)]
    make_store(spool / "host-a" / "captures.sqlite3", a)
    make_store(spool / "host-b" / "deep" / "worker" / "captures.sqlite", b)
    make_store(spool / "host-c" / "captures.db", c)
    (spool / "host-a" / "notes.txt").write_text("not a store\n", encoding="utf-8")
    outside = make_store(pk.cwd / "elsewhere.sqlite3", [make_capture(0.6)])

    result = pk("collect", "spool", "-o", "merged.sqlite3", check_rc=0)

    pk.assert_no_traceback(result)
    assert "3 store(s) merged" in result.stderr
    assert set(stored(pk.cwd / "merged.sqlite3")) == {x.id for x in [*a, *b, *c]}
    assert not set(stored(outside)) & set(stored(pk.cwd / "merged.sqlite3"))


def test_collecting_again_adds_nothing(pk: Any) -> None:
    """Collecting the same inputs into the same output again finds only duplicates."""
    w1 = make_store(pk.cwd / "w1.sqlite3", [make_capture(0.1), make_capture(0.2)])
    w2 = make_store(pk.cwd / "w2.sqlite3", [make_capture(0.3)])
    pk("collect", w1.name, w2.name, "-o", "merged.sqlite3", check_rc=0)
    first = stored(pk.cwd / "merged.sqlite3")
    assert len(first) == 3

    result = pk("collect", w1.name, w2.name, "-o", "merged.sqlite3", check_rc=0)

    assert "3 captures read, 0 new, 3 duplicates" in result.stderr
    assert stored(pk.cwd / "merged.sqlite3") == first


def test_output_given_as_input_is_skipped(pk: Any) -> None:
    """An input that is the output itself (however spelled) is reported, not merged into itself."""
    merged = make_store(pk.cwd / "merged.sqlite3", [make_capture(0.1)])
    w1 = make_store(pk.cwd / "w1.sqlite3", [make_capture(0.2)])
    (pk.cwd / "sub").mkdir()

    result = pk("collect", w1.name, "sub/../merged.sqlite3", "-o", "merged.sqlite3")

    assert result.returncode == 1, pk.explain(result)
    pk.assert_no_traceback(result)
    assert "1 input(s) skipped" in result.stderr
    assert "is the output itself" in result.stderr
    assert "1 store(s) merged" in result.stderr
    assert "1 captures read, 1 new, 0 duplicates" in result.stderr
    assert len(stored(merged)) == 2


def test_output_inside_an_input_directory(pk: Any) -> None:
    """Re-collecting a directory that now holds the output ignores the output and adds nothing."""
    spool = pk.cwd / "spool"
    make_store(spool / "w1.sqlite3", [make_capture(0.1), make_capture(0.2)])
    pk("collect", "spool", "-o", "spool/merged.sqlite3", check_rc=0)

    result = pk("collect", "spool", "-o", "spool/merged.sqlite3")

    assert result.returncode == 0, pk.explain(result)
    assert "skipped" not in result.stderr
    assert "2 captures read, 0 new, 2 duplicates" in result.stderr
    assert len(stored(spool / "merged.sqlite3")) == 2


def test_missing_input_is_reported_and_the_rest_merged(pk: Any) -> None:
    """An input file that does not exist is named as skipped (exit 1); the others merge."""
    w1 = make_store(pk.cwd / "w1.sqlite3", [make_capture(0.1)])

    result = pk("collect", w1.name, "gone.sqlite3", "-o", "merged.sqlite3")

    assert result.returncode == 1, pk.explain(result)
    assert "gone.sqlite3" in result.stderr.split("input(s) skipped:", 1)[1]
    assert not (pk.cwd / "gone.sqlite3").exists()
    assert set(stored(pk.cwd / "merged.sqlite3")) == set(stored(w1))


def test_no_inputs_found_is_a_clear_error(pk: Any) -> None:
    """A directory without store files is a clear error, exit 2, and no output is created."""
    empty = pk.cwd / "empty"
    (empty / "nested").mkdir(parents=True)
    (empty / "nested" / "readme.txt").write_text("nothing here\n", encoding="utf-8")

    result = pk("collect", "empty", "-o", "merged.sqlite3")

    assert result.returncode == 2, pk.explain(result)
    assert "profiler-kit: error: no store files found" in result.stderr
    pk.assert_no_traceback(result)
    assert not (pk.cwd / "merged.sqlite3").exists()


def test_collect_requires_inputs(pk: Any) -> None:
    """collect with no input at all is a usage error (exit 2)."""
    result = pk("collect", "-o", "merged.sqlite3")

    assert result.returncode == 2, pk.explain(result)
    assert "Usage: profiler-kit collect" in result.stderr
    assert not (pk.cwd / "merged.sqlite3").exists()
