"""Sync and async Django views are profiled under gunicorn (WSGI) and uvicorn (ASGI)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

NewId = Callable[[], int]
SERVER_KINDS = ("gunicorn", "uvicorn")
# view kind -> (URL prefix, Django route with a leading slash, the view's hot function)
VIEWS = {
    "sync": ("/items/", "/items/<int:item_id>", "pkt_sync_view_hot_work"),
    "async": ("/async-items/", "/async-items/<int:item_id>", "pkt_async_view_hot_work"),
}


@pytest.fixture(scope="module", params=SERVER_KINDS)
def server(request: pytest.FixtureRequest, django_servers: Any) -> Iterator[Any]:
    env = {"PROFILER_KIT_SAMPLE_RATE": "1", "PROFILER_KIT_MAX_CAPTURES_PER_MINUTE": "100000"}
    with django_servers.start(request.param, env) as started:
        yield started


@pytest.mark.parametrize("view", VIEWS)
def test_view_is_profiled_with_route_method_status_and_loop_flag(
    server: Any, view: str, new_id: NewId
) -> None:
    """A sync/async view's capture has its hot function, route, method, status and async flag."""
    prefix, route, hot = VIEWS[view]
    get_path, post_path = f"{prefix}{new_id()}", f"{prefix}{new_id()}"
    mark = server.log_mark()

    got = server.get(get_path)
    posted = server.request(post_path, method="POST", data=b"x=1")
    assert (got.status, posted.status) == (200, 201)
    assert json.loads(got.body)["kind"] == view == json.loads(posted.body)["kind"]

    for path, method, status in ((get_path, "GET", 200), (post_path, "POST", 201)):
        (capture,) = server.wait_for_path(path)
        assert capture.reason == "sampled"
        assert capture.route == route
        assert capture.method == method
        assert capture.status == status
        assert capture.kind == "request"
        assert capture.extra["framework"] == "django"
        assert capture.extra["async"] is server.is_async
        assert capture.wall_s >= 0.02  # the hot function alone runs for 30 ms
        names = server.frame_names(capture.id)
        assert hot in names, f"{hot} not among {sorted(names)}"
        assert capture.target == f"{method} {route}"
    assert server.failure_lines(mark) == [], server.log_tail()
