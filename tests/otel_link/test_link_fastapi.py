"""FastAPI under uvicorn: captures and OpenTelemetry server spans point at each other,
whichever order the middlewares are installed in.

Wirings (see ``otel_fastapi_app``): ``FastAPIInstrumentor.instrument_app`` before
and after ``add_middleware(ProfilerMiddleware)``, and the plain ASGI
``OpenTelemetryMiddleware`` added inside and outside ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

WIRINGS = ("instrument-first", "instrument-last", "asgi-inside", "asgi-outside")
# endpoint kind -> (URL prefix, the endpoint's hot function)
ENDPOINTS = {
    "async": ("/hot-async/", "pkot_fastapi_async_hot"),
    "def": ("/hot-sync/", "pkot_fastapi_sync_hot"),
}


@pytest.fixture(scope="module", params=WIRINGS)
def sampled(request: pytest.FixtureRequest, launcher: Any) -> Iterator[Any]:
    """Every request captured."""
    with launcher.run("fastapi", wiring=request.param, sample_rate=1) as server:
        yield server


@pytest.fixture(scope="module", params=WIRINGS)
def unsampled(request: pytest.FixtureRequest, launcher: Any) -> Iterator[Any]:
    """No request captured."""
    with launcher.run("fastapi", wiring=request.param, sample_rate=0) as server:
        yield server


@pytest.fixture(scope="module")
def reference(launcher: Any) -> Iterator[Any]:
    """The same app with profiler-kit but without OpenTelemetry."""
    with launcher.run("fastapi", otel="absent", sample_rate=1) as server:
        yield server


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_captured_request_links_capture_and_server_span(
    sampled: Any, link: Any, new_id: Callable[[], int], endpoint: str
) -> None:
    """sample_rate=1: the server span names the capture, the capture the span, and the span
    carries CPU/GC time and the hot function."""
    prefix, hot = ENDPOINTS[endpoint]
    path = f"{prefix}{new_id()}"
    reply = sampled.get(path)
    link.linked(sampled, reply, path, hot)
    assert sampled.log_problems() == [], sampled.log_tail()


def test_request_not_captured_adds_nothing_to_the_span(
    unsampled: Any, link: Any, new_id: Callable[[], int]
) -> None:
    """sample_rate=0: the server span has no profiler_kit.* or code.* attributes, no capture."""
    for prefix, _hot in ENDPOINTS.values():
        path = f"{prefix}{new_id()}"
        link.unlinked(unsampled, unsampled.get(path), path)
    assert unsampled.log_problems() == [], unsampled.log_tail()


@pytest.mark.parametrize("wiring", ["instrument-first", "asgi-inside"])
def test_memory_capture_puts_peak_bytes_on_the_span(
    launcher: Any, new_id: Callable[[], int], wiring: str
) -> None:
    """memory=true, memory_sample_rate=1: profiler_kit.memory.peak_bytes is the capture's peak."""
    with launcher.run(
        "fastapi", wiring=wiring, sample_rate=1, memory=True, memory_sample_rate=1
    ) as server:
        path = f"/allocate/{new_id()}"
        reply = server.get(path)
        assert reply.status == 200, reply
        allocated = json.loads(reply.body)["allocated"]
        span = server.server_span(reply.trace_id)
        capture = server.capture_of(path)
        assert "memory_error" not in capture.extra, capture.extra
        assert span.attributes.get("profiler_kit.capture_id") == capture.id, span.attributes
        peak = span.attributes.get("profiler_kit.memory.peak_bytes")
        assert isinstance(peak, int) and not isinstance(peak, bool), span.attributes
        assert peak > 0
        assert peak == capture.peak_memory
        assert peak >= allocated
        assert server.log_problems() == [], server.log_tail()


def test_responses_identical_with_and_without_opentelemetry(
    sampled: Any, reference: Any, new_id: Callable[[], int]
) -> None:
    """Status, body and content type are what the app without OpenTelemetry answers."""
    n = new_id()
    for path in (f"/hot-async/{n}", f"/hot-sync/{n}", f"/text/{n}", f"/missing/{n}"):
        got, expected = sampled.get(path), reference.get(path)
        assert (got.status, got.body, got.header("content-type")) == (
            expected.status,
            expected.body,
            expected.header("content-type"),
        ), path
