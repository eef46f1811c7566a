"""Streamed Flask responses: the capture lasts until the whole body has been sent."""

from __future__ import annotations

import time

CHUNKS, SLEEP_MS = 6, 80
STREAM = f"/stream?chunks={CHUNKS}&sleep_ms={SLEEP_MS}"
BODY_SECONDS = CHUNKS * SLEEP_MS / 1000  # the least time producing the body takes
# gunicorn sends the last chunk, then closes the body iterable (which ends the
# capture): the capture may end a moment after the client has read everything.
CLOSE_SLACK_S = 0.2


def _chunk_function_seconds(view) -> float:  # type: ignore[no-untyped-def]
    tree = view.tree
    ids = [i for i, f in enumerate(tree.frames) if f.name == "render_stream_chunk"]
    return sum(tree.total_times.get(i, 0.0) for i in ids)


def _get_stream(app):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    reply = app.get(STREAM)
    return reply, time.perf_counter() - started


def test_sampled_stream_capture_covers_the_whole_body(flask_servers) -> None:
    """A sampled stream_with_context response: wall_s spans every chunk, each chunk is profiled."""
    with flask_servers.serve(sample_rate=1, slow_ms=0) as app:
        reply, client_s = _get_stream(app)
        app.wait_for(1)
    assert reply.status == 200
    lines = reply.body.decode().splitlines()
    assert [line.split()[:2] for line in lines] == [["chunk", str(i)] for i in range(CHUNKS)]
    (capture,) = app.captures()
    assert (capture.route, capture.path, capture.status, capture.reason) == (
        "/stream",
        "/stream",
        200,
        "sampled",
    )
    assert BODY_SECONDS <= capture.wall_s <= client_s + CLOSE_SLACK_S
    view = app.view(capture.id)
    # Every chunk's time is in the profile, not just the view function's return.
    assert _chunk_function_seconds(view) >= 0.75 * BODY_SECONDS


def test_slow_stream_is_kept_for_its_body_time(flask_servers) -> None:
    """SAMPLE_RATE=0, SLOW_MS=200: a view returning at once but streaming ~0.5 s is kept as slow."""
    slow_ms = 200
    assert slow_ms * 2 < BODY_SECONDS * 1000
    with flask_servers.serve(sample_rate=0, slow_ms=slow_ms) as app:
        reply, client_s = _get_stream(app)
        app.wait_for(1)
    assert reply.status == 200
    (capture,) = app.captures()
    assert (capture.route, capture.reason, capture.status) == ("/stream", "slow", 200)
    assert BODY_SECONDS <= capture.wall_s <= client_s + CLOSE_SLACK_S
    # Sampling starts late (the request is not yet slow), but the chunks sent after
    # the threshold must be in the profile.
    assert _chunk_function_seconds(app.view(capture.id)) >= (BODY_SECONDS - slow_ms / 1000) / 2
