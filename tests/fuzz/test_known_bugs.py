"""Minimal reproductions of the bugs the fuzzers found, kept as regression tests.

Each test asserts the behaviour the requirement asks for (a clear error, or
the input skipped and counted; never a traceback). A newly found bug gets a
strict xfail here and an entry in ``fuzzkit.KNOWN_BUGS`` until it is fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fuzzkit
import pytest
from fuzzkit import invoke, make_capture

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.capture.cpu import decode_profile
from profiler_kit.capture.memory_summary import decode_summary
from profiler_kit.check.baseline import BaselineError, load_baseline
from profiler_kit.errors import ProfilerKitError
from profiler_kit.store import open_store
from profiler_kit.testing import cpu_blob, frame_string, read_captures
from profiler_kit.web.tokens import TokenCheck, check_token


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pk-fuzz-bugs-") as directory:
        yield Path(directory)


def assert_clean(args: list[Any], exits: tuple[int, ...] = (0, 2)) -> Any:
    result = invoke(args)
    assert result.exception is None or isinstance(result.exception, SystemExit), fuzzkit.describe(
        result.exception
    )
    assert result.exit_code in exits, result.output
    return result


def store_with(directory: Path, sql: str = "", params: tuple[Any, ...] = (), **fields: Any) -> Path:
    path = directory / "store.sqlite3"
    with open_store(path) as store:
        store.add(make_capture(**fields))
    if sql:
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute(sql, params)
            db.commit()
    return path


@pytest.mark.parametrize(
    "blob",
    [fuzzkit.REPRO_CPU_INFINITE_INDEX, fuzzkit.REPRO_CPU_HUGE_SECONDS, fuzzkit.REPRO_DEEP_PAYLOAD],
    ids=["Infinity-index", "400-digit-seconds", "deep-nesting"],
)
def test_decode_profile_raises_only_value_error(blob: bytes) -> None:
    with pytest.raises(ValueError):
        decode_profile(blob)


@pytest.mark.parametrize(
    "blob",
    [fuzzkit.REPRO_MEMORY_INFINITE_BYTES, fuzzkit.REPRO_DEEP_PAYLOAD],
    ids=["Infinity-bytes", "deep-nesting"],
)
def test_decode_summary_raises_only_value_error(blob: bytes) -> None:
    with pytest.raises(ValueError):
        decode_summary(blob)


def test_deeply_nested_extra_column(scratch: Path) -> None:
    store = store_with(scratch, "UPDATE captures SET extra = ?", (fuzzkit.DEEP_JSON,))
    assert_clean(["ls", "--store", store])


def test_invalid_utf8_in_the_schema_text(scratch: Path) -> None:
    store = fuzzkit.damaged_schema_store(scratch / "store.sqlite3")
    assert_clean(["ls", "--store", store])


def test_infinite_sample_seconds_in_the_report(scratch: Path) -> None:
    store = store_with(scratch, cpu_profile=fuzzkit.REPRO_CPU_INFINITE_SAMPLE)
    assert_clean(["report", "--latest", "--store", store, "-o", scratch / "r.html"])


def test_infinite_sample_seconds_in_exports(scratch: Path) -> None:
    store = store_with(scratch, cpu_profile=fuzzkit.REPRO_CPU_INFINITE_SAMPLE)
    assert_clean(["export", "collapsed", "--store", store, "-o", scratch / "c.txt"])


def test_profile_meta_of_the_wrong_type(scratch: Path) -> None:
    with contextlib.suppress(ProfilerKitError):
        CaptureView.load(make_capture(cpu_profile=fuzzkit.REPRO_CPU_META_PREFIXES))
    store = store_with(scratch, cpu_profile=fuzzkit.REPRO_CPU_META_PREFIXES)
    assert_clean(["export", "speedscope", "--store", store, "-o", scratch / "s.json"])


def test_memory_frame_of_the_wrong_shape(scratch: Path) -> None:
    store = store_with(scratch, memory_profile=fuzzkit.REPRO_MEMORY_FRAME_DICT)
    assert_clean(["report", "--latest", "--store", store, "-o", scratch / "r.html"])


@pytest.mark.parametrize(
    "sql",
    ["UPDATE captures SET started_at = 1e300", "UPDATE captures SET wall_s = 'abc'"],
    ids=["started_at-1e300", "wall_s-text"],
)
def test_scalar_columns_of_the_wrong_type(scratch: Path, sql: str) -> None:
    store = store_with(scratch, sql)
    assert_clean(["ls", "--store", store])
    assert_clean(["report", "--store", store, "-o", scratch / "r.html"])


@pytest.mark.parametrize("column", fuzzkit.BLOB_TEXT_COLUMNS)
def test_blob_in_a_nullable_text_column(scratch: Path, column: str) -> None:
    """A BLOB in method, route, path, trace_id or span_id is reported as damage, not a crash."""
    store = fuzzkit.blob_text_store(scratch / "store.sqlite3", column)
    for args in fuzzkit.reader_commands(store, scratch, fuzzkit.capture_ids(store)[0]):
        assert_clean(args)
    (listed,) = json.loads(fuzzkit.invoke(["ls", "--json", "--store", store]).output)
    assert listed[column] is None
    assert column in listed["damaged"]


@pytest.mark.parametrize("name", sorted(fuzzkit.REPRO_BASELINE_TEXTS))
def test_load_baseline_raises_only_baseline_error(scratch: Path, name: str) -> None:
    path = scratch / "baseline.json"
    path.write_text(fuzzkit.REPRO_BASELINE_TEXTS[name])
    with pytest.raises(BaselineError):
        load_baseline(path)


def test_check_with_a_huge_baseline_count(scratch: Path) -> None:
    store = scratch / "bench.sqlite3"
    bench = {"run": "R", "wall_s": [0.1] * 5, "cpu_s": [0.1] * 5, "counts": {"calls": 10}}
    with open_store(store) as opened:
        opened.add(make_capture(reason="bench", target="t", extra={"bench": bench}))
    baseline = scratch / "baseline.json"
    baseline.write_text(
        '{"format":"profiler-kit-baseline","version":1,"targets":{"t":{"wall_s":[0.1,0.1,0.1],'
        '"cpu_s":[0.1,0.1,0.1],"counts":{"calls":1' + "0" * 400 + "}}}}"
    )
    assert_clean(["check", store, "--baseline", baseline, "-o", scratch / "out.txt"], (0, 1, 2))


@pytest.mark.parametrize(
    "token",
    [fuzzkit.REPRO_TOKEN_SURROGATE, fuzzkit.signed_token("secret", "pk1.\u00b2.nonce")],
    ids=["lone-surrogate", "signed-superscript-expiry"],
)
def test_check_token_never_raises(token: str) -> None:
    assert isinstance(check_token("secret", token), TokenCheck)


@pytest.mark.parametrize("ttl", ["nan", "inf", "1e308d"])
def test_token_command_with_a_non_finite_ttl(ttl: str) -> None:
    assert_clean(["token", "--ttl", ttl, "--secret", "s"])


def test_token_command_prints_only_tokens_that_work() -> None:
    result = assert_clean(["token", "--ttl", "1e200", "--secret", "s"])
    if result.exit_code == 0:
        assert check_token("s", result.stdout.strip()) is TokenCheck.VALID


def test_report_of_a_file_name_with_a_lone_surrogate(scratch: Path) -> None:
    blob = cpu_blob([([frame_string("main", "/srv/\udcff/app.py", 1)], 0.1)])
    store = store_with(scratch, cpu_profile=blob)
    assert_clean(["report", "--latest", "--store", store, "-o", scratch / "r.html"])
    assert_clean(["report", "--store", store, "-o", scratch / "a.html"])


@pytest.mark.skipif(sys.platform != "linux", reason="non-UTF-8 file names: Linux")
def test_run_a_script_in_a_non_utf8_directory(scratch: Path) -> None:
    directory = os.fsencode(scratch) + b"/dir\xff"
    os.mkdir(directory)
    script = directory + b"/target.py"
    with open(script, "w") as file:
        file.write("print(sum(range(10000)))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILER_KIT_")}
    result = subprocess.run(
        [sys.executable, "-m", "profiler_kit", "run", "-q", "--no-report",
         "--store", os.fsencode(scratch / "s.sqlite3"), script],
        cwd=scratch, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")[-2000:]
    assert result.returncode in (0, 2)


def test_writer_survives_an_unstorable_capture(scratch: Path) -> None:
    from profiler_kit.web.asgi import ProfilerMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        return None

    store = scratch / "s.sqlite3"
    middleware = ProfilerMiddleware(
        app, store=store, sample_rate=1.0, max_captures_per_minute=10**6
    )
    writer = middleware.recorder.writer
    died: list[BaseException | None] = []
    hook = threading.excepthook
    threading.excepthook = lambda args: died.append(args.exc_value)  # keep it out of pytest's
    try:
        for path in ("/bad\udcff", "/after"):
            scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
                     "headers": []}  # fmt: skip
            asyncio.run(middleware(scope, receive, send))
            drained = writer.flush(3)
            if writer._thread is not None:
                writer._thread.join(0.5)  # a thread that died has run the hook by now
    finally:
        threading.excepthook = hook
    assert not died, f"the writer thread died: {died!r}"
    assert drained, "the writer never drained its queue"
    # The surrogate is stored escaped, not lost; the capture after it too.
    assert [c.path for c in read_captures(store)] == ["/bad\\udcff", "/after"]


def test_json_of_the_reproductions_is_what_they_say() -> None:
    """Guard the reproductions themselves: they are compressed JSON of the right format."""
    import zlib

    document = json.loads(zlib.decompress(fuzzkit.REPRO_CPU_INFINITE_SAMPLE))
    assert document["format"] == fuzzkit.CPU_FORMAT
    assert document["samples"] == [[0, float("inf")]]
