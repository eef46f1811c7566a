"""Every format's totals equal the selected captures' CPU profiles, summed straight from the store.

For one capture and for several aggregated (by repeated --capture, by filters,
and across stores), in each format: speedscope's weights in seconds, collapsed
stacks' microseconds and samples, pprof's samples and nanoseconds.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.store.record import Capture
from profiler_kit.testing import frame_string as frame

T0 = 1_800_000_000.0
MAIN = frame("main", "/app/main.py", 1)
WORK = frame("work", "/app/work.py", 5)
IO = frame("wait_for_io", "/app/io.py", 9)

FORMATS = ["speedscope", "collapsed", "pprof"]


def iso(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, tz=datetime.UTC).isoformat()


def exported_totals(kit: Any, fmt: str, *args: str | Path) -> tuple[float, int | None]:
    """(seconds, samples) an export holds; samples is None where the format has no counts."""
    if fmt == "speedscope":
        document = kit.speedscope(kit.export("speedscope", *args))
        return sum(document["profiles"][0]["weights"]), None
    if fmt == "collapsed":
        micro = kit.collapsed(kit.export("collapsed", *args))
        counted = kit.collapsed(kit.export("collapsed", *args, "--unit", "samples"))
        return sum(c for _, c in micro) / 1e6, sum(c for _, c in counted)
    profile = kit.pprof(kit.export("pprof", *args))
    samples = sum(sample.value[0] for sample in profile.sample)
    return sum(sample.value[1] for sample in profile.sample) / 1e9, samples


def assert_totals(kit: Any, fmt: str, args: list[str | Path], expected: tuple[float, int]) -> None:
    seconds, samples = exported_totals(kit, fmt, *args)
    resolution = {"speedscope": 1e-9, "collapsed": 1e-6, "pprof": 1e-9}[fmt]
    assert seconds == pytest.approx(expected[0], abs=resolution), (fmt, args)
    if samples is not None:
        assert samples == expected[1], (fmt, args)


@pytest.fixture
def captures(formats: Any) -> list[Capture]:
    """Four captures in the kit's store: api-a.py twice, api-b.py, batch.py (oldest first)."""
    made = [
        formats.make_capture(
            [([MAIN, WORK], 0.0105), ([MAIN, WORK, IO], 0.0207), ([MAIN], 0.0009)] * 3,
            started=T0,
            target="api-a.py",
        ),
        formats.make_capture(
            [([MAIN, WORK], 0.0011)] * 13 + [([MAIN, IO], 0.123_456_789)],
            started=T0 + 60,
            target="api-a.py",
        ),
        formats.make_capture([([MAIN, IO], 0.333_333_3)] * 3, started=T0 + 120, target="api-b.py"),
        formats.make_capture([([MAIN, WORK], 0.05)] * 5, started=T0 + 180, target="batch.py"),
    ]
    formats.make_store(made)
    return made


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_capture(formats: Any, captures: list[Capture], fmt: str) -> None:
    chosen = captures[1]
    expected = formats.stored_totals(capture_ids=[chosen.id])
    assert expected[1] == 14
    assert_totals(formats, fmt, ["--capture", chosen.id], expected)


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_by_id(formats: Any, captures: list[Capture], fmt: str) -> None:
    ids = [captures[0].id, captures[2].id]
    expected = formats.stored_totals(capture_ids=ids)
    # Naming a capture twice (here by a prefix) still counts it once.
    args = ["--capture", ids[0], "--capture", ids[1], "--capture", ids[0][:20]]
    assert_totals(formats, fmt, args, expected)


@pytest.mark.parametrize("fmt", FORMATS)
def test_filters(formats: Any, captures: list[Capture], fmt: str) -> None:
    api = formats.stored_totals(capture_ids=[c.id for c in captures[:3]])
    assert_totals(formats, fmt, ["--route", "api-*.py"], api)
    window = formats.stored_totals(capture_ids=[c.id for c in captures[1:3]])
    assert_totals(formats, fmt, ["--since", iso(T0 + 30), "--until", iso(T0 + 150)], window)


@pytest.mark.parametrize("fmt", FORMATS)
def test_across_stores(formats: Any, captures: list[Capture], fmt: str) -> None:
    """Two stores' captures add up; a capture present in both counts once."""
    other = formats.make_store(
        [
            captures[3],  # already in the first store
            formats.make_capture([([MAIN, WORK], 0.0123)] * 4, started=T0 + 240),
        ],
        formats.cwd / "other.sqlite3",
    )
    first = formats.stored_totals()
    extra = formats.stored_totals(other, [c.id for c in captures[3:]])
    second = formats.stored_totals(other)
    expected = (first[0] + second[0] - extra[0], first[1] + second[1] - extra[1])
    assert_totals(formats, fmt, [formats.store, other], expected)


@pytest.mark.parametrize("fmt", FORMATS)
def test_real_runs(formats: Any, real_store: tuple[Path, list[str]], fmt: str) -> None:
    store, ids = real_store
    assert_totals(formats, fmt, [store, "--capture", ids[0]], formats.stored_totals(store, ids[:1]))
    assert_totals(formats, fmt, [store], formats.stored_totals(store, ids))
