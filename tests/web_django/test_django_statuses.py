"""Error statuses are captured as Django answered them, and the answer is untouched."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

NewId = Callable[[], int]
SERVER_KINDS = ("gunicorn", "uvicorn")
# view kind -> URL prefix of a view raising Http404, of one raising RuntimeError
MISSING = {"sync": "/missing/", "async": "/async-missing/"}
BOOM = {"sync": "/boom/", "async": "/async-boom/"}


@pytest.fixture(scope="module", params=SERVER_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server(kind: str, django_servers: Any) -> Iterator[Any]:
    """The project with everything sampled."""
    env = {"PROFILER_KIT_SAMPLE_RATE": "1", "PROFILER_KIT_MAX_CAPTURES_PER_MINUTE": "100000"}
    with django_servers.start(kind, env) as started:
        yield started


@pytest.fixture(scope="module")
def disabled_server(kind: str, django_servers: Any) -> Iterator[Any]:
    """The same project under the same server, with profiler-kit switched off."""
    env = {"PROFILER_KIT_ENABLED": "false", "PROFILER_KIT_SAMPLE_RATE": "1"}
    with django_servers.start(kind, env) as started:
        yield started


def _comparable(reply: Any) -> tuple[int, bytes, dict[str, str]]:
    headers = {k.lower(): v for k, v in reply.headers.items() if k.lower() != "date"}
    return reply.status, reply.body, headers


@pytest.mark.parametrize("view", ["sync", "async"])
def test_http404_from_view_is_captured_as_404(
    server: Any, disabled_server: Any, view: str, new_id: NewId
) -> None:
    """A view raising Http404: a 404 capture with its route; the disabled project's 404 response."""
    number = new_id()
    path = f"{MISSING[view]}{number}"
    reply = server.get(path)
    assert reply.status == 404
    (capture,) = server.wait_for_path(path)
    assert capture.status == 404
    assert capture.route == f"{MISSING[view]}<int:n>"
    assert capture.extra["async"] is server.is_async
    assert _comparable(reply) == _comparable(disabled_server.get(path))


@pytest.mark.parametrize("view", ["sync", "async"])
def test_unhandled_exception_is_captured_as_500(
    server: Any, disabled_server: Any, view: str, new_id: NewId
) -> None:
    """A view raising RuntimeError: a 500 capture; the response equals the disabled project's."""
    path = f"{BOOM[view]}{new_id()}"
    mark = server.log_mark()
    reply = server.get(path)
    assert reply.status == 500
    (capture,) = server.wait_for_path(path)
    assert capture.status == 500
    assert capture.route == f"{BOOM[view]}<int:n>"
    assert capture.method == "GET"
    assert _comparable(reply) == _comparable(disabled_server.get(path))
    assert server.failure_lines(mark) == [], server.log_tail()


def test_unrouted_path_is_captured_as_404_without_route(
    server: Any, disabled_server: Any, new_id: NewId
) -> None:
    """An unrouted path: a 404 capture with no route; the disabled project's 404 response."""
    path = f"/no/such/page/{new_id()}"
    reply = server.get(path)
    assert reply.status == 404
    (capture,) = server.wait_for_path(path)
    assert capture.status == 404
    assert capture.route is None
    assert capture.target == f"GET {path}"
    assert _comparable(reply) == _comparable(disabled_server.get(path))


def test_disabled_project_captures_nothing(disabled_server: Any, new_id: NewId) -> None:
    """PROFILER_KIT_ENABLED=false (even with SAMPLE_RATE=1) writes no capture at all."""
    paths = [f"/fast/{new_id()}", f"/async-items/{new_id()}", f"/boom/{new_id()}"]
    assert [disabled_server.get(path).status for path in paths] == [200, 200, 500]
    assert disabled_server.captures_of(*paths) == []
