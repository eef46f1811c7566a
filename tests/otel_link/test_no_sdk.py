"""The apps instrumented but with no OpenTelemetry SDK configured (the API's default no-op
tracer provider): requests are captured as usual and nothing goes wrong in the server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from profiler_kit.analysis.capture_view import CaptureView

# app -> (URL prefix, hot function)
ENDPOINTS = {
    "fastapi": ("/hot-async/", "pkot_fastapi_async_hot"),
    "flask": ("/hot/", "pkot_flask_hot"),
    "django-wsgi": ("/hot/", "pkot_django_sync_hot"),
    "django-asgi": ("/async-hot/", "pkot_django_async_hot"),
}
SERVED = [(app, spans) for app in ENDPOINTS for spans in ("off", "live")]


@pytest.fixture(scope="module", params=SERVED, ids=["-".join(p) for p in SERVED])
def noop_server(request: pytest.FixtureRequest, launcher: Any) -> Iterator[Any]:
    app, spans = request.param
    with launcher.run(app, otel="noop", sample_rate=1, otel_spans=spans) as server:
        yield server


def test_requests_captured_without_an_sdk(noop_server: Any, new_id: Callable[[], int]) -> None:
    """Each request is stored with its profile; the server logs no error or warning."""
    prefix, hot = ENDPOINTS[noop_server.app]
    paths = [f"{prefix}{new_id()}" for _ in range(3)]
    for path in paths:
        reply = noop_server.get(path)
        assert reply.status == 200, reply
    for path in paths:
        capture = noop_server.capture_of(path)
        assert capture.reason == "sampled"
        assert capture.status == 200
        names = {frame.name for frame in CaptureView.load(noop_server.full(capture.id)).tree.frames}
        assert hot in names, sorted(names)
    assert noop_server.receiver.requests == 0  # nothing exports anywhere
    assert noop_server.log_problems() == [], noop_server.log_tail()
