"""Whose work lands in which capture: threadpool hops, interleaved tasks, streamed bodies."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

THREADPOOL = "[threadpool]"


def test_def_endpoint_work_is_attributed_under_threadpool_frame(
    sampled_server: Any, profiles: Any, uid: Callable[[], int]
) -> None:
    """A def endpoint's hot function is in its capture, under [threadpool], CPU time counted."""
    path = f"/sync-hot/{uid()}"
    reply = sampled_server.get(path)
    assert reply.status == 200
    work_cpu_s = json.loads(reply.body)["work_cpu_s"]
    assert work_cpu_s > 0
    sampled_server.flush()
    captures = sampled_server.for_path(path)
    assert len(captures) == 1, captures
    capture = captures[0]
    view = sampled_server.view(capture.id)
    paths = profiles.paths_to(view.tree, "sync_hot_function_xyz")
    assert paths, sorted(profiles.frame_names(view))
    assert all(THREADPOOL in call_path[:-1] for call_path in paths), paths
    assert capture.cpu_s >= 0.6 * work_cpu_s, (capture.cpu_s, work_cpu_s)
    assert profiles.total_time(view, "sync_hot_function_xyz") >= 0.6 * work_cpu_s


def _concurrent_pairs(
    server: Any, uid: Callable[[], int], first: str, second: str, pairs: int
) -> list[tuple[str, str]]:
    """Send ``pairs`` pairs of requests, the two of each pair at the same moment."""
    sent = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(pairs):
            paths = (f"{first}/{uid()}", f"{second}/{uid()}")
            barrier = threading.Barrier(2)

            def fetch(path: str, barrier: threading.Barrier = barrier) -> int:
                barrier.wait(timeout=10)
                return int(server.get(path).status)

            assert list(pool.map(fetch, paths)) == [200, 200]
            sent.append(paths)
    return sent


def _overlap_s(a: Any, b: Any) -> float:
    return float(
        min(a.started_at + a.wall_s, b.started_at + b.wall_s) - max(a.started_at, b.started_at)
    )


@pytest.mark.parametrize(
    ("first", "second", "first_hot", "second_hot"),
    [
        (
            "/interleave/alpha",
            "/interleave/beta",
            "interleave_alpha_hot_xyz",
            "interleave_beta_hot_xyz",
        ),
        ("/threaded/alpha", "/threaded/beta", "threaded_alpha_hot_xyz", "threaded_beta_hot_xyz"),
    ],
    ids=["async-interleaved", "def-threadpool"],
)
def test_concurrent_requests_do_not_contaminate_each_other(
    sampled_server: Any,
    profiles: Any,
    uid: Callable[[], int],
    first: str,
    second: str,
    first_hot: str,
    second_hot: str,
) -> None:
    """Two requests running at once: each capture holds its own hot function and not the other's."""
    sent = _concurrent_pairs(sampled_server, uid, first, second, pairs=3)
    sampled_server.flush()
    for first_path, second_path in sent:
        (first_capture,) = sampled_server.for_path(first_path)
        (second_capture,) = sampled_server.for_path(second_path)
        # The pair really ran at the same time, or the test proves nothing.
        shorter = min(first_capture.wall_s, second_capture.wall_s)
        assert _overlap_s(first_capture, second_capture) > 0.5 * shorter
        first_names = profiles.frame_names(sampled_server.view(first_capture.id))
        second_names = profiles.frame_names(sampled_server.view(second_capture.id))
        assert first_hot in first_names and second_hot not in first_names, first_path
        assert second_hot in second_names and first_hot not in second_names, second_path


@pytest.mark.parametrize(
    ("endpoint", "chunk_function"),
    [
        ("/stream-async", "stream_chunk_async_xyz"),
        ("/stream-sync", "stream_chunk_sync_xyz"),
    ],
    ids=["async-generator", "sync-generator"],
)
def test_streaming_capture_covers_the_whole_body(
    sampled_server: Any, profiles: Any, uid: Callable[[], int], endpoint: str, chunk_function: str
) -> None:
    """A StreamingResponse capture lasts to the last chunk and profiles the per-chunk function."""
    path = f"{endpoint}/{uid()}"
    reply = sampled_server.get(path)
    assert reply.status == 200
    chunks = reply.body.decode().splitlines()
    sleep_total = float(reply.headers["x-sleep-total"])
    assert len(chunks) > 1 and sleep_total > 0
    sampled_server.flush()
    captures = sampled_server.for_path(path)
    assert len(captures) == 1, captures
    capture = captures[0]
    assert capture.wall_s >= sleep_total, (capture.wall_s, sleep_total)
    assert capture.status == 200
    view = sampled_server.view(capture.id)
    assert chunk_function in profiles.frame_names(view)


def _server_frames(view: Any) -> list[str]:
    """Frames of the server's own entry point: the uvicorn script and asyncio's loop."""
    return sorted(
        {
            f"{frame.name} ({frame.file})"
            for frame in view.tree.frames
            if frame.name == "run_forever" or frame.file.endswith(os.sep + "uvicorn")
        }
    )


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param("/stream-async"),
        pytest.param("/stream-sync"),
    ],
)
def test_streamed_capture_is_trimmed_to_the_app(
    sampled_server: Any, uid: Callable[[], int], endpoint: str
) -> None:
    """A streamed capture holds no server frames above the app (uvicorn script, asyncio loop)."""
    path = f"{endpoint}/{uid()}"
    assert sampled_server.get(path).status == 200
    sampled_server.flush()
    (capture,) = sampled_server.for_path(path)
    view = sampled_server.view(capture.id)
    assert view.samples > 0
    assert _server_frames(view) == []
