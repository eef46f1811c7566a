"""Profiling failures never reach the client: responses stay exactly as without the middleware."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Endpoints with deterministic responses: every kind the app has (async, def,
# 404, unhandled 500 in async and def code, both kinds of streaming).
ENDPOINTS = (
    "/items",
    "/sync",
    "/plain",
    "/missing",
    "/boom",
    "/boom-sync",
    "/stream-async",
    "/stream-sync",
)


def _assert_same_responses(server: Any, reference: Any, uid: Callable[[], int]) -> list[str]:
    """Send every endpoint to both servers; the answers must be identical."""
    paths = []
    for endpoint in ENDPOINTS:
        path = f"{endpoint}/{uid()}"
        got, want = server.get(path), reference.get(path)
        assert (got.status, got.body) == (want.status, want.body), path
        assert got.headers.get("content-type") == want.headers.get("content-type"), path
        paths.append(path)
    assert server.alive(), server.output()
    return paths


def _wait_for_log(server: Any, text: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in server.output():
            return True
        time.sleep(0.05)
    return False


# -- the store cannot be written ---------------------------------------------------


@pytest.fixture(scope="module")
def unwritable_store_server(
    launcher: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """Every request sampled, into a store that cannot be created.

    As root, a read-only directory does not stop writes, so the store's parent
    is then a regular file instead; otherwise it is a 0o555 directory.
    """
    base = tmp_path_factory.mktemp("unwritable")
    if os.geteuid() == 0:
        parent = base / "afile"
        parent.write_text("a file, not a directory\n")
        store = parent / "store.sqlite3"
    else:
        parent = base / "readonly"
        parent.mkdir()
        parent.chmod(0o555)
        store = parent / "store.sqlite3"
    try:
        with launcher.run(
            "unwritable-store", {"sample_rate": "1", "slow_ms": "0"}, store=store
        ) as s:
            yield s
    finally:
        if parent.is_dir():
            parent.chmod(0o755)


def test_unwritable_store_does_not_affect_responses(
    unwritable_store_server: Any, reference_server: Any, uid: Callable[[], int]
) -> None:
    """Store path impossible to create: every response is identical to the unprofiled app's."""
    _assert_same_responses(unwritable_store_server, reference_server, uid)
    # The writer did try, and failed, for those requests.
    assert _wait_for_log(unwritable_store_server, "writing to the capture store failed"), (
        unwritable_store_server.output()
    )
    assert not unwritable_store_server.store.exists()
    _assert_same_responses(unwritable_store_server, reference_server, uid)


# -- memray cannot start ---------------------------------------------------------


@pytest.fixture(scope="module")
def memray_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("memray-tmp")


@pytest.fixture(scope="module")
def broken_memray_server(launcher: Any, memray_tmp: Path) -> Iterator[Any]:
    """Memory capture for every request, with memray.Tracker failing on __enter__."""
    settings = {"sample_rate": "0", "slow_ms": "0", "memory": "true", "memory_sample_rate": "1"}
    extra_env = {"PK_TEST_FAULT": "memray", "TMPDIR": str(memray_tmp)}
    with launcher.run("broken-memray", settings, extra_env=extra_env) as server:
        yield server


def test_memray_failure_does_not_affect_responses(
    broken_memray_server: Any, reference_server: Any, uid: Callable[[], int]
) -> None:
    """memray failing to start: every response is identical to the unprofiled app's."""
    _assert_same_responses(broken_memray_server, reference_server, uid)


def test_memray_failure_still_stores_a_cpu_capture(
    broken_memray_server: Any, profiles: Any, uid: Callable[[], int]
) -> None:
    """memray failing to start: the capture still arrives, CPU only, with extra["memory_error"]."""
    path = f"/sync-hot/{uid()}"
    reply = broken_memray_server.get(path)
    assert reply.status == 200
    assert json.loads(reply.body)["work_cpu_s"] > 0
    broken_memray_server.flush()
    captures = broken_memray_server.for_path(path)
    assert len(captures) == 1, captures
    capture = captures[0]
    assert capture.reason == "sampled"
    assert "injected memray failure" in capture.extra["memory_error"]
    assert capture.peak_memory is None
    full = broken_memray_server.full(capture.id)
    assert full.memory_profile is None
    view = broken_memray_server.view(capture.id)
    assert "sync_hot_function_xyz" in profiles.frame_names(view)


def test_memray_failure_leaves_no_temporary_directories(
    broken_memray_server: Any, memray_tmp: Path, uid: Callable[[], int]
) -> None:
    """memray failing to start: no profiler-kit-memray-* temporary directory is left behind."""
    for _ in range(3):
        assert broken_memray_server.get(f"/items/{uid()}").status == 200
    broken_memray_server.flush()
    assert sorted(p.name for p in memray_tmp.glob("profiler-kit-memray-*")) == []


# -- the capture hook raises -------------------------------------------------------


@pytest.fixture(scope="module")
def raising_hook_server(launcher: Any) -> Iterator[Any]:
    """Sampling every request, with a hook that raises (except for /sentinel/...)."""
    settings = {"sample_rate": "1", "slow_ms": "0"}
    with launcher.run("raising-hook", settings, extra_env={"PK_TEST_FAULT": "hook"}) as server:
        yield server


def test_raising_hook_does_not_affect_responses(
    raising_hook_server: Any, reference_server: Any, uid: Callable[[], int]
) -> None:
    """A raising hook: responses identical to the unprofiled app's, those requests not captured."""
    paths = _assert_same_responses(raising_hook_server, reference_server, uid)
    raising_hook_server.flush()  # the hook's True for /sentinel/ still captures
    assert raising_hook_server.captures(lambda c: c.path in paths) == []
