"""``profiler-kit export pprof``: gzipped profile.proto, parsed back with pprof's own definition."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

from profiler_kit.testing import frame_string as frame

MAIN = frame("main", "/app/main.py", 1)
HANDLER = frame("handler", "/app/views.py", 10)
QUERY = frame("query", "/app/db.py", 42)


def string(profile: Any, index: int) -> str:
    return str(profile.string_table[index])


def leaf_first_names(profile: Any) -> dict[tuple[str, ...], tuple[int, ...]]:
    """Each sample's function names (leaf first, as pprof lists them) and its values."""
    functions = {function.id: function for function in profile.function}
    locations = {location.id: location for location in profile.location}
    out = {}
    for sample in profile.sample:
        names = tuple(
            string(profile, functions[locations[i].line[0].function_id].name)
            for i in sample.location_id
        )
        out[names] = tuple(sample.value)
    return out


def test_header_types_and_references(formats: Any) -> None:
    capture = formats.make_capture(
        [([MAIN, HANDLER], 0.5), ([MAIN, HANDLER, QUERY], 0.25), ([MAIN, HANDLER], 0.125)],
        started=1_700_000_123.5,
        wall=1.0,
    )
    formats.make_store([capture])
    profile = formats.pprof(formats.export("pprof", "--capture", capture.id))
    assert [(string(profile, t.type), string(profile, t.unit)) for t in profile.sample_type] == [
        ("samples", "count"),
        ("wall", "nanoseconds"),
    ]
    assert string(profile, profile.default_sample_type) == "wall"
    assert string(profile, profile.period_type.type) == "wall"
    assert string(profile, profile.period_type.unit) == "nanoseconds"
    assert profile.period == 1_000_000  # the 1 ms sampling interval
    assert profile.time_nanos == 1_700_000_123_500_000_000
    assert profile.duration_nanos == 1_000_000_000
    assert leaf_first_names(profile) == {
        ("handler", "main"): (2, 625_000_000),
        ("query", "handler", "main"): (1, 250_000_000),
    }
    files = {
        (string(profile, f.name), string(profile, f.filename), f.start_line)
        for f in profile.function
    }
    assert files == {("main", "/app/main.py", 1), ("handler", "/app/views.py", 10),
                     ("query", "/app/db.py", 42)}  # fmt: skip
    lines = {location.line[0].line for location in profile.location}
    assert lines == {1, 10, 42}
    assert any("profiler-kit" in string(profile, index) for index in profile.comment)


def test_captures_aggregate(formats: Any) -> None:
    first = formats.make_capture([([MAIN, HANDLER], 0.2)], started=1_700_000_000.0, wall=0.5)
    second = formats.make_capture(
        [([MAIN, HANDLER], 0.3), ([MAIN, QUERY], 0.1)], started=1_700_000_010.0, wall=1.0
    )
    formats.make_store([first, second])
    profile = formats.pprof(formats.export("pprof"))
    assert leaf_first_names(profile) == {
        ("handler", "main"): (2, 500_000_000),
        ("query", "main"): (1, 100_000_000),
    }
    assert len(profile.function) == 3
    assert profile.time_nanos == 1_700_000_000 * 10**9
    assert profile.duration_nanos == 11 * 10**9  # first start to last end


def test_hostile_names_are_plain_strings(formats: Any) -> None:
    name = "evil;name\n<script>alert(1)</script>\ud800"  # a lone surrogate too
    formats.make_store([formats.make_capture([([MAIN, frame(name, "/app/x.py", 7)], 0.01)])])
    profile = formats.pprof(formats.export("pprof"))
    assert "evil;name\n<script>alert(1)</script>?" in profile.string_table


def test_stdout_when_not_a_terminal(formats: Any) -> None:
    formats.make_store([formats.make_capture([([MAIN, HANDLER], 0.002)])])
    result = subprocess.run(
        [sys.executable, "-m", "profiler_kit", "export", "pprof", "-o", "-"],
        cwd=formats.cwd,
        env=formats.env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == b"wrote 1 stack from 1 capture to standard output\n"
    profile = formats.pb2.Profile()
    profile.ParseFromString(gzip.decompress(result.stdout))
    assert [tuple(sample.value) for sample in profile.sample] == [(1, 2_000_000)]


def test_real_runs(formats: Any, real_store: tuple[Path, list[str]]) -> None:
    store, ids = real_store
    profile = formats.pprof(formats.export("pprof", store, "--capture", ids[1]))
    names = {string(profile, function.name) for function in profile.function}
    assert {"nap", "spin", "<module>"} <= names
    seconds, samples = formats.stored_totals(store, [ids[1]])
    assert sum(sample.value[0] for sample in profile.sample) == samples
    assert abs(sum(sample.value[1] for sample in profile.sample) - seconds * 1e9) <= 1
