"""Memory capture with memray, under uvicorn."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from profiler_kit.capture.memory_summary import decode_summary


@pytest.fixture(scope="module")
def memory_server(launcher: Any) -> Iterator[Any]:
    """Every request sampled with memory tracking on."""
    settings = {"sample_rate": "0", "slow_ms": "0", "memory": "true", "memory_sample_rate": "1"}
    with launcher.run("memory", settings) as server:
        yield server


@pytest.mark.parametrize(
    ("endpoint", "function"),
    [
        ("/allocate-async", "allocate_block_async_xyz"),
        ("/allocate-sync", "allocate_block_sync_xyz"),
    ],
    ids=["async", "def"],
)
def test_memory_capture_reports_peak_and_allocating_function(
    memory_server: Any, uid: Callable[[], int], endpoint: str, function: str
) -> None:
    """MEMORY=true, MEMORY_SAMPLE_RATE=1: peak covers a 24 MiB block; top site names its caller."""
    path = f"{endpoint}/{uid()}"
    reply = memory_server.get(path)
    assert reply.status == 200
    allocated = json.loads(reply.body)["allocated"]
    assert allocated >= 20 * 1024 * 1024
    memory_server.flush()
    captures = memory_server.for_path(path)
    assert len(captures) == 1, captures
    capture = captures[0]
    assert capture.reason == "sampled"
    assert "memory_error" not in capture.extra, capture.extra
    assert capture.peak_memory is not None and capture.peak_memory >= allocated
    full = memory_server.full(capture.id)
    assert full.memory_profile is not None
    summary = decode_summary(full.memory_profile)
    assert summary.peak_bytes == capture.peak_memory
    top = summary.top_sites[0]
    assert top.bytes >= allocated
    assert function in [name for name, _file, _line in top.stack], top.stack
