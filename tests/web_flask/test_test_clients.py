"""Werkzeug's and Flask's test clients: one capture per request, nothing left running.

Nearly every Flask project's tests call ``client.get(...)`` and never close
the response, and the WSGI core used to end a capture only in the response's
``close()``: 20 requests at ``sample_rate=1`` gave no capture, pyinstrument
ran on until the interpreter exited and printed a TypeError at exit. Each
scenario runs in a child process (``client_scenario.py`` beside this file),
since what happens at exit is part of the check; the child reports what it
saw once the responses were dropped, then keeps one more response until exit.

The last tests check that ``ProfilerKit(app)`` makes no reference cycle
(Flask treats an app that is not freed with its last reference as a bug,
pallets/flask#3761), and that the wrapped app still serves requests.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest
from client_scenarios import REQUESTS, assert_nothing_running, run_scenario

from profiler_kit.capture.sampler import hub
from profiler_kit.testing import read_captures, wait_for_captures

SCENARIO = Path(__file__).with_name("client_scenario.py")


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process tests set what they need; the runner's variables stay out."""
    for name in [name for name in os.environ if name.startswith("PROFILER_KIT_")]:
        monkeypatch.delenv(name)


def two_chunks(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"first ", b"second"]


def test_flask_test_client(tmp_path: Path) -> None:
    report, store = run_scenario(SCENARIO, "flask", tmp_path)
    assert report["captures"] == REQUESTS
    assert_nothing_running(report)
    captures = read_captures(store)
    assert len(captures) == REQUESTS + 1  # the response kept until exit is captured too
    assert {(c.route, c.status, c.reason) for c in captures} == {("/", 200, "sampled")}


def test_werkzeug_test_client(tmp_path: Path) -> None:
    report, store = run_scenario(SCENARIO, "werkzeug", tmp_path)
    assert report["captures"] == REQUESTS
    assert_nothing_running(report)
    assert len(read_captures(store)) == REQUESTS + 1


def test_nested_middlewares_under_werkzeug_test_client(tmp_path: Path) -> None:
    """Two middlewares of ours on one request: the inner one ends with the outer one."""
    report, store = run_scenario(SCENARIO, "werkzeug-nested", tmp_path)
    assert report["captures"] == REQUESTS
    assert_nothing_running(report)
    assert len(read_captures(store)) == REQUESTS + 1
    assert len(read_captures(store.with_name("inner.sqlite3"))) == REQUESTS + 1


def test_watched_requests_left_open_are_let_go(tmp_path: Path) -> None:
    """Watched requests never closed: each is unregistered when the next starts.

    How long such a request took is unknown (it stayed open slow_ms * 3 here,
    not running), so none is kept as slow.
    """
    report, store = run_scenario(SCENARIO, "flask-watched", tmp_path)
    assert report["captures"] == 0
    assert report["registered"] == 1  # the last one, until the next request or the exit
    assert report["stats"].get("response.not_closed") == REQUESTS - 1
    assert report["profile_hook"] is None
    assert report["profilers"] == 0
    assert read_captures(store) == []


def _profiling(engine: str) -> bool:
    """Whether this thread's request is being profiled, by either engine."""
    if engine == "pyinstrument":
        return sys.getprofile() is not None
    target = hub.target_of(threading.get_ident())
    return target is not None and target.sampled


ENGINES = pytest.mark.parametrize("engine", ["sampler", "pyinstrument"])


@ENGINES
def test_reading_the_body_to_the_end_ends_the_capture(tmp_path: Path, engine: str) -> None:
    """Not the next request nor the response's drop: the body's last chunk."""
    from werkzeug.test import Client

    from profiler_kit.web.engines import profile_hook
    from profiler_kit.web.wsgi import ProfilerMiddleware

    store = tmp_path / "captures.sqlite3"
    middleware = ProfilerMiddleware(
        two_chunks, store=str(store), sample_rate=1.0, request_engine=engine
    )
    response = Client(middleware).get("/")  # the client has read the first chunk
    try:
        assert _profiling(engine), "profiled until the body has been read"
        assert response.get_data() == b"first second"
        assert not _profiling(engine)
        assert sys.getprofile() is None
        assert profile_hook.profilers == 0
        assert middleware.recorder.flush()
        assert len(read_captures(store)) == 1
    finally:
        response.close()  # stops the profiler if an assertion above failed
    assert middleware.stats.get("response.not_closed") == 0


@ENGINES
def test_a_response_freed_by_the_collector_ends_with_the_next_request(
    tmp_path: Path, engine: str
) -> None:
    """Not inside the collection: that may run anywhere, in pyinstrument's profile
    hook (stopping the profiler there crashed Flask's own test suite) or while one
    of our locks is held."""
    from werkzeug.test import Client

    from profiler_kit.web.engines import profile_hook
    from profiler_kit.web.wsgi import ProfilerMiddleware

    store = tmp_path / "captures.sqlite3"
    middleware = ProfilerMiddleware(
        two_chunks, store=str(store), sample_rate=1.0, request_engine=engine
    )
    client = Client(middleware)
    response = client.get("/")
    response.cycle = response  # freed only by the garbage collector
    del response
    try:
        gc.collect()
        assert _profiling(engine), "ended inside the garbage collection"
    finally:
        with client.get("/") as second:  # ends the first one when it starts
            assert second.get_data() == b"first second"
    assert not _profiling(engine)
    assert sys.getprofile() is None
    assert profile_hook.profilers == 0
    assert middleware.recorder.flush()
    assert len(read_captures(store)) == 2
    assert middleware.stats.get("response.not_closed") == 1


def test_profiler_kit_makes_no_reference_cycle(tmp_path: Path) -> None:
    from flask import Flask

    from profiler_kit.plugins.flask import ProfilerKit

    gc.disable()
    try:
        app = Flask(__name__)
        ProfilerKit(app, store=str(tmp_path / "captures.sqlite3"))
        assert app.view_functions["static"]
        weak = weakref.ref(app)
        assert weak() is not None
        del app
        assert weak() is None, "the app was kept alive by a reference cycle"
    finally:
        gc.enable()


def test_requests_go_through_the_wrapped_wsgi_app(tmp_path: Path) -> None:
    from flask import Flask
    from werkzeug.test import Client

    from profiler_kit.plugins.flask import ProfilerKit

    store = tmp_path / "captures.sqlite3"
    app = Flask(__name__)

    @app.route("/items/<int:item_id>")
    def item(item_id: int) -> str:
        return f"item {item_id}"

    kit = ProfilerKit(app, store=str(store), sample_rate=1.0)
    assert app.wsgi_app is kit.middleware
    with Client(app.wsgi_app).get("/items/7") as response:
        assert response.status_code == 200
        assert response.get_data() == b"item 7"
    with app.test_client().get("/items/8") as response:
        assert response.get_data() == b"item 8"
    captures = wait_for_captures(store, 2)
    assert sorted((c.path, c.route, c.status) for c in captures) == [
        ("/items/7", "/items/<int:item_id>", 200),
        ("/items/8", "/items/<int:item_id>", 200),
    ]
