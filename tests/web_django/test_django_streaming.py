"""A StreamingHttpResponse's capture ends with its body, not when the view returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

NewId = Callable[[], int]
SERVER_KINDS = ("gunicorn", "uvicorn")
CHUNKS = 5
CHUNK_SLEEP_S = 0.06  # pk_django_site sleeps this long before each chunk
REQUESTS = 5  # per combination: the ASGI + sync-generator race below shows in ~1 of 4
# generator kind -> (URL prefix, the function each chunk calls)
STREAMS = {
    "sync": ("/stream/sync/", "pkt_sync_stream_chunk"),
    "async": ("/stream/async/", "pkt_async_stream_chunk"),
}


class LostWorkerProfile(AssertionError):
    """The worker thread's part of a streamed body is missing from the profile."""


@pytest.fixture(scope="module", params=SERVER_KINDS)
def server(request: pytest.FixtureRequest, django_servers: Any) -> Iterator[Any]:
    env = {"PROFILER_KIT_SAMPLE_RATE": "1", "PROFILER_KIT_MAX_CAPTURES_PER_MINUTE": "100000"}
    with django_servers.start(request.param, env) as started:
        for number in range(2):  # warm the capture path up, as in a running service
            assert started.get(f"/items/{number}").status == 200
        yield started


@pytest.mark.parametrize("body", STREAMS)
def test_streamed_body_is_inside_the_capture(
    request: pytest.FixtureRequest, server: Any, body: str, new_id: NewId
) -> None:
    """Each capture's wall time covers all chunks, the chunk function is profiled, nothing fails."""
    prefix, chunk_function = STREAMS[body]
    paths = [f"{prefix}{new_id()}" for _ in range(REQUESTS)]
    mark = server.log_mark()
    elapsed = {}
    for path in paths:
        reply = server.get(path)
        assert reply.status == 200
        lines = reply.body.decode().splitlines()
        assert [line.split(":")[0] for line in lines] == [str(i) for i in range(CHUNKS)]
        assert reply.elapsed_s >= CHUNKS * CHUNK_SLEEP_S
        elapsed[path] = reply.elapsed_s
        assert server.failure_lines(mark) == [], server.log_tail()

    found = server.wait_for(REQUESTS, lambda c: c.path in elapsed)
    assert server.failure_lines(mark) == [], server.log_tail()
    assert sorted(c.path for c in found) == sorted(paths), server.log_tail()
    without = []
    for capture in found:
        assert capture.status == 200
        assert capture.route == f"{prefix}<int:n>"
        assert capture.extra["async"] is server.is_async
        # Every chunk was produced (and slept for) before the capture ended.
        assert CHUNKS * CHUNK_SLEEP_S <= capture.wall_s <= elapsed[capture.path] + 0.05
        if chunk_function not in server.frame_names(capture.id):
            without.append(capture.path)
    if without:
        raise LostWorkerProfile(f"{chunk_function} missing from {len(without)}/{REQUESTS}")
