"""Fuzzing baseline files: ``load_baseline`` and ``profiler-kit check --baseline``.

A baseline arrives as a CI artifact, so it is outside data: whatever the
file holds, load_baseline returns a Baseline or raises BaselineError, and
``check`` exits 0 (pass), 1 (regression) or 2 with one error line, never
with a traceback.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fuzzkit
import pytest
from fuzzkit import check_cli, dumps, fuzz_settings, invoke, json_texts, json_values
from hypothesis import event, given
from hypothesis import strategies as st

from profiler_kit.check.baseline import (
    Baseline,
    BaselineError,
    latest_run,
    load_baseline,
    save_baseline,
)
from profiler_kit.store import open_store
from profiler_kit.testing import cpu_blob, frame_string

TARGETS = ("script.py", "GET /checkout")
REPORT_FORMATS = ("text", "markdown", "json", "junit")


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pk-fuzz-baseline-") as directory:
        yield Path(directory)


@pytest.fixture(scope="module")
def bench_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one bench run of two targets, as ``profiler-kit bench`` leaves it."""
    path = tmp_path_factory.mktemp("bench") / "bench.sqlite3"
    hot = frame_string("hot", "/srv/app/hot.py", 3)
    captures = [
        fuzzkit.make_capture(
            started_at=1_700_000_000.0 + index,
            kind="request" if name.startswith("GET") else "script",
            reason="bench",
            target=name,
            route=name,
            cpu_profile=cpu_blob([([frame_string("main", "/srv/app/main.py", 1), hot], 0.2)]),
            extra={
                "bench": {
                    "run": "RUN1",
                    "wall_s": [0.10, 0.11, 0.12, 0.10, 0.13],
                    "cpu_s": [0.09, 0.10, 0.10, 0.09, 0.11],
                    "counts": {"calls": 1200, "allocations": 300, "queries": 2},
                }
            },
        )
        for index, name in enumerate(TARGETS)
    ]
    with open_store(path) as store:
        store.add_many(captures)
    return path


@pytest.fixture(scope="module")
def valid_baseline(bench_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("baseline") / "baseline.json"
    run_id, targets = latest_run([bench_store])
    save_baseline(path, run_id, targets)
    document = json.loads(path.read_text())
    assert isinstance(load_baseline(path), Baseline)
    return document


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a JSON document (where a fuzzed value can be put)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


@st.composite
def baseline_texts(draw: st.DrawFn, valid: dict[str, Any]) -> str | bytes:
    """Whole random JSON, a valid baseline with one value replaced or removed, or damaged text."""
    kind = draw(st.sampled_from(["replace", "replace", "replace", "bytes", "random"]), label="kind")
    event(f"baseline mutation: {kind}")
    if kind == "random":
        return draw(json_texts | st.binary(max_size=200))
    if kind == "replace":
        path = draw(st.sampled_from(_paths(valid)), label="path")
        value = draw(json_values | st.sampled_from([10**400, float("inf"), -1, [], {}, ""]))
        return dumps(_replace(valid, path, value, delete=bool(path) and draw(st.booleans())))
    text = bytearray(json.dumps(valid, indent=1).encode())
    for _ in range(draw(st.integers(1, 4))):
        offset = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if action == "flip":
            text[offset] ^= draw(st.integers(1, 255))
        elif action == "delete":
            del text[offset : offset + draw(st.integers(1, 16))]
        elif action == "insert":
            text[offset:offset] = draw(st.binary(min_size=1, max_size=16))
        else:
            del text[offset:]
        if not text:
            break
    return bytes(text)


def _write(path: Path, content: str | bytes) -> None:
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8", "surrogatepass"))
    else:
        path.write_bytes(content)


@given(data=st.data())
@fuzz_settings(weight=4.0)
def test_load_baseline_returns_a_baseline_or_raises_baseline_error(
    valid_baseline: dict[str, Any], data: st.DataObject
) -> None:
    content = data.draw(baseline_texts(valid_baseline), label="baseline")
    with scratch() as directory:
        path = directory / "baseline.json"
        _write(path, content)
        try:
            baseline = load_baseline(path)
        except BaselineError as error:
            message = str(error)
            assert message and "\n" not in message, message
            event("BaselineError")
            return
        except Exception as error:
            fuzzkit.tolerate(error, candidates=["load_baseline"])
            return
    assert isinstance(baseline, Baseline)
    for target in baseline.targets.values():
        assert target.wall_s and target.cpu_s
        assert all(v >= 0 for v in (*target.wall_s, *target.cpu_s))
        assert all(isinstance(v, int) and v >= 0 for v in target.counts.values())
    event("valid Baseline")


@given(data=st.data(), output_format=st.sampled_from(REPORT_FORMATS))
@fuzz_settings(weight=1.0)
def test_check_with_a_fuzzed_baseline(
    bench_store: Path, valid_baseline: dict[str, Any], data: st.DataObject, output_format: str
) -> None:
    """``check --baseline FUZZED``: exit 0, 1 or 2 with one error line; never a traceback."""
    content = data.draw(baseline_texts(valid_baseline), label="baseline")
    with scratch() as directory:
        path = directory / "baseline.json"
        _write(path, content)
        args = [
            "check", bench_store, "--baseline", path, "--format", output_format,
            "-o", directory / "result.txt", "--report", directory / "diff.html",
        ]  # fmt: skip
        result = invoke(args)
        outcome = check_cli(
            result, args, exits=(0, 1, 2), candidates=["load_baseline", "check-huge-count"]
        )
        event(f"check: {outcome}")
        if outcome == 2:
            assert "baseline" in result.stderr.lower() or "bench" in result.stderr, result.stderr
        if outcome in (0, 1):
            assert (directory / "result.txt").read_text().strip()
