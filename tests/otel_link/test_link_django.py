"""Django under gunicorn (WSGI) and uvicorn (ASGI): captures and OpenTelemetry server spans
point at each other, wherever profiler-kit's middleware sits relative to the one
``DjangoInstrumentor().instrument()`` inserts (see ``otel_django_site``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

APPS = ("django-wsgi", "django-asgi")
WIRINGS = ("ours-first", "ours-last", "ours-outermost")
# view kind -> (URL prefix, the view's hot function)
VIEWS = {
    "sync": ("/hot/", "pkot_django_sync_hot"),
    "async": ("/async-hot/", "pkot_django_async_hot"),
}
SERVED = [(app, wiring) for app in APPS for wiring in WIRINGS]


@pytest.fixture(scope="module", params=SERVED, ids=["-".join(p) for p in SERVED])
def sampled(request: pytest.FixtureRequest, launcher: Any) -> Iterator[Any]:
    """Every request captured."""
    app, wiring = request.param
    with launcher.run(app, wiring=wiring, sample_rate=1) as server:
        yield server


@pytest.fixture(scope="module", params=SERVED, ids=["-".join(p) for p in SERVED])
def unsampled(request: pytest.FixtureRequest, launcher: Any) -> Iterator[Any]:
    """No request captured."""
    app, wiring = request.param
    with launcher.run(app, wiring=wiring, sample_rate=0) as server:
        yield server


@pytest.fixture(scope="module")
def reference(launcher: Any) -> Iterator[Callable[[str], Any]]:
    """``reference(app)``: the same project served the same way, with profiler-kit but
    without OpenTelemetry (started on first use, one per app)."""
    with contextlib.ExitStack() as stack:
        started: dict[str, Any] = {}

        def get(app: str) -> Any:
            if app not in started:
                started[app] = stack.enter_context(launcher.run(app, otel="absent", sample_rate=1))
            return started[app]

        yield get


@pytest.mark.parametrize("view", VIEWS)
def test_captured_request_links_capture_and_server_span(
    sampled: Any, link: Any, new_id: Callable[[], int], view: str
) -> None:
    """sample_rate=1: the server span names the capture, the capture the span, and the span
    carries CPU/GC time and the view's hot function."""
    prefix, hot = VIEWS[view]
    path = f"{prefix}{new_id()}"
    link.linked(sampled, sampled.get(path), path, hot)
    assert sampled.log_problems() == [], sampled.log_tail()


def test_request_not_captured_adds_nothing_to_the_span(
    unsampled: Any, link: Any, new_id: Callable[[], int]
) -> None:
    """sample_rate=0: the server span has no profiler_kit.* or code.* attributes, no capture."""
    for prefix, _hot in VIEWS.values():
        path = f"{prefix}{new_id()}"
        link.unlinked(unsampled, unsampled.get(path), path)
    assert unsampled.log_problems() == [], unsampled.log_tail()


def test_responses_identical_with_and_without_opentelemetry(
    sampled: Any, reference: Callable[[str], Any], new_id: Callable[[], int]
) -> None:
    """Status, body and content type are what the project without OpenTelemetry answers."""
    n = new_id()
    for path in (f"/hot/{n}", f"/async-hot/{n}", f"/text/{n}", f"/missing/{n}"):
        got, expected = sampled.get(path), reference(sampled.app).get(path)
        assert (got.status, got.body, got.header("content-type")) == (
            expected.status,
            expected.body,
            expected.header("content-type"),
        ), path
