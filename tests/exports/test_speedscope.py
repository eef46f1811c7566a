"""``profiler-kit export speedscope``: validated against speedscope's own published schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from profiler_kit import __version__
from profiler_kit.testing import frame_string as frame

MAIN = frame("main", "/app/main.py", 1)
HANDLER = frame("handler", "/app/views.py", 10)
QUERY = frame("query", "/app/db.py", 42)


def stacks(document: dict[str, Any]) -> dict[tuple[str, ...], float]:
    """Root-first frame names of each sample, with its weight."""
    frames = document["shared"]["frames"]
    (profile,) = document["profiles"]
    out: dict[tuple[str, ...], float] = {}
    for sample, weight in zip(profile["samples"], profile["weights"], strict=True):
        key = tuple(frames[index]["name"] for index in sample)
        out[key] = out.get(key, 0.0) + weight
    return out


def test_one_capture_validates_and_keeps_its_stacks(formats: Any) -> None:
    capture = formats.make_capture(
        [([MAIN, HANDLER], 0.5), ([MAIN, HANDLER, QUERY], 0.25), ([MAIN, HANDLER], 0.125)],
        target="job.py",
    )
    formats.make_store([capture])
    document = formats.speedscope(formats.export("speedscope", "--capture", capture.id[:12]))
    assert document["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert document["exporter"] == f"profiler-kit {__version__}"
    assert document["name"] == "job.py"
    (profile,) = document["profiles"]
    assert profile["type"] == "sampled"
    assert profile["unit"] == "seconds"
    assert profile["startValue"] == 0
    assert profile["endValue"] == pytest.approx(0.875)
    assert stacks(document) == {
        ("main", "handler"): pytest.approx(0.625),
        ("main", "handler", "query"): pytest.approx(0.25),
    }
    assert {(f["name"], f["file"], f["line"]) for f in document["shared"]["frames"]} == {
        ("main", "/app/main.py", 1),
        ("handler", "/app/views.py", 10),
        ("query", "/app/db.py", 42),
    }


def test_captures_share_frames_and_aggregate(formats: Any) -> None:
    first = formats.make_capture([([MAIN, HANDLER], 0.2)], target="a.py")
    second = formats.make_capture([([MAIN, HANDLER], 0.3), ([MAIN, QUERY], 0.1)], target="b.py")
    formats.make_store([first, second])
    document = formats.speedscope(formats.export("speedscope"))
    assert stacks(document) == {
        ("main", "handler"): pytest.approx(0.5),
        ("main", "query"): pytest.approx(0.1),
    }
    assert len(document["shared"]["frames"]) == 3  # main is one frame for both captures
    assert document["name"].startswith("2 captures")


def test_hostile_names_survive_as_data(formats: Any) -> None:
    name = '</script><script>alert(1)</script>;"\n\u2028'
    formats.make_store([formats.make_capture([([MAIN, frame(name, "/app/x;y.py", 7)], 0.01)])])
    output = formats.export("speedscope")
    assert output.read_bytes().isascii()
    document = formats.speedscope(output)
    assert (name, "/app/x;y.py", 7) in {
        (f["name"], f.get("file"), f.get("line")) for f in document["shared"]["frames"]
    }


def test_stdout_is_the_same_document(formats: Any) -> None:
    formats.make_store([formats.make_capture([([MAIN, HANDLER], 0.002)])])
    output = formats.export("speedscope")
    result = formats("export", "speedscope", "-o", "-", check_rc=0)
    assert json.loads(result.stdout) == json.loads(output.read_text())
    assert result.stderr == "wrote 1 stack from 1 capture to standard output\n"


def test_real_runs(formats: Any, real_store: tuple[Path, list[str]]) -> None:
    store, ids = real_store
    document = formats.speedscope(formats.export("speedscope", store))
    names = {f["name"] for f in document["shared"]["frames"]}
    assert {"outer", "inner", "nap", "spin"} <= names
    seconds, _ = formats.stored_totals(store, ids)
    assert sum(document["profiles"][0]["weights"]) == pytest.approx(seconds, abs=1e-9)
    latest = formats.speedscope(formats.export("speedscope", store, "--latest"))
    assert "sleeper.py" in latest["name"]
