"""Captures read from several stores: each once, with where it was read, whoever reads them.

The aggregate report and the exports both read through
:mod:`profiler_kit.analysis.sources`, so a capture copied into a second store
counts once in both, and a progress bar sized by ``count_captures`` ends full.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler_kit.analysis.aggregate import aggregate
from profiler_kit.analysis.sources import count_captures, iter_captures, iter_selected
from profiler_kit.errors import CaptureNotFoundError
from profiler_kit.export.stacks import merge_captures
from profiler_kit.store import open_store
from profiler_kit.store.record import Capture
from profiler_kit.testing import make_capture

T0 = 1_800_000_000.0


def _store(path: Path, captures: list[Capture]) -> Path:
    with open_store(path) as store:
        store.add_many(captures)
    return path


@pytest.fixture
def two_stores(tmp_path: Path) -> tuple[list[Path], list[Capture]]:
    """Two stores of three captures in all, the middle one in both."""
    first, shared, last = (make_capture(started_at=T0 + offset) for offset in (0, 1, 2))
    stores = [
        _store(tmp_path / "a.sqlite3", [first, shared]),
        _store(tmp_path / "b.sqlite3", [shared, last]),
    ]
    return stores, [first, shared, last]


def test_a_capture_in_two_stores_is_read_once_from_the_first(
    two_stores: tuple[list[Path], list[Capture]],
) -> None:
    stores, (first, shared, last) = two_stores
    reads: list[None] = []
    read = list(iter_selected(stores, on_read=lambda: reads.append(None)))
    assert [(source, capture.id) for source, capture in read] == [
        (0, first.id),
        (0, shared.id),
        (1, last.id),
    ]
    assert len(reads) == count_captures(stores) == 4


def test_reports_and_exports_count_the_same_captures(
    two_stores: tuple[list[Path], list[Capture]],
) -> None:
    stores, captures = two_stores
    assert [capture.id for capture in iter_captures(stores)] == [c.id for c in captures]
    assert aggregate(stores).captures == merge_captures(stores).captures == len(captures)


def test_named_captures_come_once_in_the_order_named(
    two_stores: tuple[list[Path], list[Capture]],
) -> None:
    stores, (first, shared, last) = two_stores
    named = [last.id, shared.id, last.id, first.id]
    assert [capture.id for capture in iter_captures(stores, capture_ids=named)] == [
        last.id,
        shared.id,
        first.id,
    ]
    assert count_captures(stores, capture_ids=named) == 3
    assert [capture.id for capture in iter_captures(stores, latest=True)] == [last.id]
    with pytest.raises(CaptureNotFoundError):
        list(iter_captures(stores, capture_ids=["0" * 26]))
