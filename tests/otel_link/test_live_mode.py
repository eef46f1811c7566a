"""Live mode (``otel_spans``): captured requests' call trees become child spans of their
server spans in the app's own TracerProvider, with (``live``) or without (``live-only``)
storing the capture. FastAPI under uvicorn and Flask under gunicorn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

MODES = ("live", "live-only")
# (app, URL prefix, hot function of the endpoint)
ENDPOINTS = {
    "fastapi-async": ("fastapi", "/hot-async/", "pkot_fastapi_async_hot"),
    "fastapi-def": ("fastapi", "/hot-sync/", "pkot_fastapi_sync_hot"),
    "flask": ("flask", "/hot/", "pkot_flask_hot"),
}
SERVED = [(app, mode) for app in ("fastapi", "flask") for mode in MODES]


@pytest.fixture(scope="module", params=SERVED, ids=["-".join(p) for p in SERVED])
def live_server(request: pytest.FixtureRequest, launcher: Any) -> Iterator[Any]:
    """Every request captured, in live or live-only mode."""
    app, mode = request.param
    with launcher.run(app, sample_rate=1, otel_spans=mode) as server:
        yield server


def requests_to_its_endpoints(
    server: Any, new_id: Callable[[], int]
) -> Iterator[tuple[str, Any, str]]:
    """One fresh request to each endpoint of the server's app: (path, reply, hot function)."""
    for app, prefix, hot in ENDPOINTS.values():
        if app == server.app:
            path = f"{prefix}{new_id()}"
            yield path, server.get(path), hot


def test_live_spans_are_children_of_the_server_span(
    live_server: Any, link: Any, new_id: Callable[[], int]
) -> None:
    """Derived spans join the request's trace under its server span and include the hot
    function; ``live`` also stores the capture, linked to the span, ``live-only`` does not."""
    for path, reply, hot in requests_to_its_endpoints(live_server, new_id):
        assert reply.status == 200, reply
        span, _derived = link.derived(live_server, reply.trace_id, hot)
        if live_server.settings["otel_spans"] == "live":
            capture = live_server.capture_of(path)
            assert (capture.trace_id, capture.span_id) == (span.trace_id, span.span_id)
            assert span.attributes.get("profiler_kit.capture_id") == capture.id, span.attributes
        else:
            assert live_server.captures_after_settling(path) == []
    assert live_server.log_problems() == [], live_server.log_tail()


def test_live_spans_lie_within_their_parents(
    live_server: Any, link: Any, new_id: Callable[[], int]
) -> None:
    """Each derived span starts and ends within its parent, the top ones within the server
    span."""
    for _path, reply, hot in requests_to_its_endpoints(live_server, new_id):
        assert reply.status == 200, reply
        span, derived = link.derived(live_server, reply.trace_id, hot)
        link.within_parents(span, derived)


def test_live_mode_emits_nothing_for_requests_not_captured(
    launcher: Any, link: Any, new_id: Callable[[], int]
) -> None:
    """otel_spans=live with sample_rate=0: no derived spans, no profiler attributes, no capture."""
    with launcher.run("fastapi", sample_rate=0, otel_spans="live") as server:
        path = f"/hot-async/{new_id()}"
        reply = server.get(path)
        link.unlinked(server, reply, path)  # waits for the span, then settles
        derived = [
            s
            for s in server.spans_of(reply.trace_id)
            if s.attributes.get("profiler_kit.derived_from_samples")
        ]
        assert derived == [], link.describe(derived)
        assert server.log_problems() == [], server.log_tail()
