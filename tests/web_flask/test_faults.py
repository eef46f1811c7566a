"""Fault injection: profiling failures never reach the response.

Each fault runs the test app under gunicorn (1 worker) with SAMPLE_RATE=1 and
compares every response (status, body, content type) with the same app run
with PROFILER_KIT_ENABLED=false. Failures must be counted and logged once per
kind of failure, not once per request.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PATHS = [
    "/hello",
    "/items/5",
    "/missing/thing",
    "/boom",
    "/cpu/20",
    "/stream?chunks=3&sleep_ms=5",
    "/items/6",
    "/hello",
]
GAP_S = 0.05  # between requests, so the writer meets the fault more than once


def _send_all(app, response_key):  # type: ignore[no-untyped-def]
    replies = []
    for path in PATHS:
        replies.append((path, response_key(app.get(path))))
        time.sleep(GAP_S)
    return replies


def _reference(reference_responses):  # type: ignore[no-untyped-def]
    expected = reference_responses(sorted(set(PATHS)))
    # The reference itself must exercise success and both error statuses.
    assert {status for status, _, _ in expected.values()} == {200, 404, 500}
    return [(path, expected[path]) for path in PATHS]


def _only_counter(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    (dumped,) = app.worker_stats().values()
    return dict(dumped["counters"])


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, filled up with a file: any further write fails with ENOSPC."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "full-disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        with (mount_point / "filler").open("wb", buffering=0) as filler:
            for _ in range(2 * 1024 * 1024 // 4096):  # bounded: twice the filesystem's size
                try:
                    filler.write(b"\0" * 4096)
                except OSError as error:
                    assert error.errno == errno.ENOSPC, error
                    break
            else:
                pytest.fail("the 1 MiB tmpfs never filled up")
        with pytest.raises(OSError) as probe, (mount_point / "probe").open("wb") as file:
            file.write(b"x" * 4096)
            file.flush()
        assert probe.value.errno == errno.ENOSPC
        (mount_point / "probe").unlink()
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, timeout=30)


def test_unwritable_store_never_affects_responses(
    flask_servers, reference_responses, response_key, tmp_path
) -> None:
    """Store path under a regular file: responses identical to profiling off, logged once."""
    blocker = tmp_path / "afile"
    blocker.write_bytes(b"a regular file, not a directory")
    store = blocker / "store.sqlite3"
    expected = _reference(reference_responses)
    with flask_servers.serve(sample_rate=1, slow_ms=0, store=store) as app:
        replies = _send_all(app, response_key)
    assert replies == expected
    assert blocker.read_bytes() == b"a regular file, not a directory"
    counters = _only_counter(app)
    assert counters.get("dropped.store_error") == len(PATHS)
    assert counters.get("captures.written", 0) == 0
    assert counters["error.writing to the capture store"] >= 2, counters
    assert app.failures_logged() == ["writing to the capture store"], app.output()


def test_full_disk_never_affects_responses(
    flask_servers, reference_responses, response_key, full_disk
) -> None:
    """Store on a full tmpfs: responses identical to profiling off, nothing stored, logged once."""
    store = full_disk / "captures.sqlite3"
    expected = _reference(reference_responses)
    with flask_servers.serve(sample_rate=1, slow_ms=0, store=store) as app:
        replies = _send_all(app, response_key)
        assert app.captures() == []
    assert replies == expected
    counters = _only_counter(app)
    assert counters.get("dropped.store_error") == len(PATHS)
    assert counters.get("captures.written", 0) == 0
    assert counters["error.writing to the capture store"] >= 2, counters
    assert app.failures_logged() == ["writing to the capture store"], app.output()


def test_raising_capture_hook_never_affects_responses(
    flask_servers, reference_responses, response_key
) -> None:
    """ProfilerKit(app, hook=raising_hook): identical responses, nothing captured, logged once."""
    expected = _reference(reference_responses)
    with flask_servers.serve(sample_rate=1, slow_ms=0, extra_env={"FAULT": "hook"}) as app:
        replies = _send_all(app, response_key)
    assert replies == expected
    assert app.captures() == []
    counters = _only_counter(app)
    assert counters.get("error.starting a capture") == len(PATHS)
    assert app.failures_logged() == ["starting a capture"], app.output()
    assert app.output().count("injected fault: capture hook fails") >= 1


@contextlib.contextmanager
def _memray_broken_server(flask_servers, tmp_path):  # type: ignore[no-untyped-def]
    """The app with memray.Tracker failing to start, memory sampling every request."""
    private_tmp = tmp_path / "tmpdir"
    private_tmp.mkdir()
    with flask_servers.serve(
        sample_rate=0,
        slow_ms=0,
        memory=True,
        memory_sample_rate=1,
        extra_env={"FAULT": "memray", "TMPDIR": str(private_tmp)},
    ) as app:
        yield app, private_tmp


def test_memray_failing_to_start_keeps_cpu_captures(
    flask_servers, reference_responses, response_key, tmp_path
) -> None:
    """memray.Tracker.__enter__ raising: identical responses, CPU captures carry memory_error."""
    expected = _reference(reference_responses)
    with _memray_broken_server(flask_servers, tmp_path) as (app, _):
        replies = _send_all(app, response_key)
        app.wait_for(len(PATHS))
    assert replies == expected
    captures = app.captures()
    assert sorted(c.path for c in captures) == sorted(p.split("?")[0] for p in PATHS)
    for capture in captures:
        assert capture.reason == "sampled"
        assert "injected fault: memray tracker cannot start" in capture.extra["memory_error"]
        assert capture.peak_memory is None
    (cpu_capture,) = [c for c in captures if c.route == "/cpu/<int:ms>"]
    names = {f.name for f in app.view(cpu_capture.id).tree.frames}
    assert "burn_cpu_hot_loop" in names, "the CPU profile must survive memray's failure"
    assert _only_counter(app).get("memory.unavailable") == len(PATHS)


def test_memray_failing_to_start_is_logged_once(flask_servers, tmp_path) -> None:
    """memray.Tracker.__enter__ raising is logged exactly once as a profiler-kit failure."""
    with _memray_broken_server(flask_servers, tmp_path) as (app, _):
        statuses = [app.get(f"/items/{n}").status for n in range(3)]
    assert statuses == [200] * 3
    assert len(app.failures_logged()) == 1, app.output()


def test_memray_failing_to_start_leaves_no_temp_dirs(flask_servers, tmp_path) -> None:
    """memray failing to start leaves no profiler-kit-memray-* directory behind per request."""
    with _memray_broken_server(flask_servers, tmp_path) as (app, private_tmp):
        statuses = [app.get(f"/items/{n}").status for n in range(3)]
        app.wait_for(3)
    assert statuses == [200] * 3
    assert sorted(p.name for p in private_tmp.glob("profiler-kit-memray-*")) == []
