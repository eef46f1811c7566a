"""Flask under gunicorn (2 workers): captures and OpenTelemetry server spans point at each
other, with ``FlaskInstrumentor().instrument_app(app)`` before or after ``ProfilerKit(app)``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

WIRINGS = ("instrument-first", "instrument-last")
HOT = "pkot_flask_hot"


@pytest.fixture(scope="module", params=WIRINGS)
def sampled(request: pytest.FixtureRequest, launcher: Any) -> Iterator[Any]:
    """Every request captured."""
    with launcher.run("flask", wiring=request.param, sample_rate=1) as server:
        yield server


@pytest.fixture(scope="module", params=WIRINGS)
def unsampled(request: pytest.FixtureRequest, launcher: Any) -> Iterator[Any]:
    """No request captured."""
    with launcher.run("flask", wiring=request.param, sample_rate=0) as server:
        yield server


@pytest.fixture(scope="module")
def reference(launcher: Any) -> Iterator[Any]:
    """The same app with profiler-kit but without OpenTelemetry."""
    with launcher.run("flask", otel="absent", sample_rate=1) as server:
        yield server


def test_captured_requests_link_capture_and_server_span(
    sampled: Any, link: Any, new_id: Callable[[], int]
) -> None:
    """sample_rate=1: each request's server span names its capture and the capture the span.

    Several requests, so that both workers very likely serve some.
    """
    for _ in range(4):
        path = f"/hot/{new_id()}"
        link.linked(sampled, sampled.get(path), path, HOT)
    assert sampled.log_problems() == [], sampled.log_tail()


def test_request_not_captured_adds_nothing_to_the_span(
    unsampled: Any, link: Any, new_id: Callable[[], int]
) -> None:
    """sample_rate=0: the server span has no profiler_kit.* or code.* attributes, no capture."""
    for _ in range(2):
        path = f"/hot/{new_id()}"
        link.unlinked(unsampled, unsampled.get(path), path)
    assert unsampled.log_problems() == [], unsampled.log_tail()


def test_responses_identical_with_and_without_opentelemetry(
    sampled: Any, reference: Any, new_id: Callable[[], int]
) -> None:
    """Status, body and content type are what the app without OpenTelemetry answers."""
    n = new_id()
    for path in (f"/hot/{n}", f"/text/{n}", f"/missing/{n}"):
        got, expected = sampled.get(path), reference.get(path)
        assert (got.status, got.body, got.header("content-type")) == (
            expected.status,
            expected.body,
            expected.header("content-type"),
        ), path
