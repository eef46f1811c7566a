"""Requests through a test client that never closes its responses, in a child process.

Run by ``test_test_clients.py`` as ``python client_scenario.py CLIENT STORE``:
that is how nearly every Flask project's tests call the app, and what
happens at the interpreter's exit is part of what is checked, so it runs in
a process of its own. It prints one JSON line: what the store held and what
was still running once the first ``REQUESTS`` responses had been dropped.
Then it makes one more request and keeps that response until exit, so the
exit path ends a capture too (the parent counts ``REQUESTS + 1`` captures).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client_scenarios import REQUESTS, print_report

WATCHED_SLOW_MS = 20


def hello_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello ", b"from wsgi"]


def make_client(kind: str, store: str) -> tuple[Any, Any]:
    """The test client of ``kind`` and the middleware it goes through."""
    settings = {"store": store, "sample_rate": 1.0, "max_captures_per_minute": 100000}
    if kind in ("flask", "flask-watched"):
        from flask import Flask

        from profiler_kit.plugins.flask import ProfilerKit

        app = Flask("client_scenario")

        @app.route("/")
        def index() -> str:
            return "hello from flask"

        if kind == "flask-watched":
            # None profiled, every one watched; each left unended longer than
            # slow_ms (send() pauses), which is not the request's own time.
            settings = {**settings, "sample_rate": 0.0, "slow_ms": WATCHED_SLOW_MS}
        kit = ProfilerKit(app, **settings)
        return app.test_client(), kit.middleware
    if kind in ("werkzeug", "werkzeug-nested"):
        from werkzeug.test import Client

        from profiler_kit.web.wsgi import ProfilerMiddleware

        if kind == "werkzeug-nested":
            # A second middleware of ours around the first: two recorders on
            # one request, the inner one registered apart from the outer.
            inner_store = str(Path(store).with_name("inner.sqlite3"))
            inner = ProfilerMiddleware(hello_wsgi, **{**settings, "store": inner_store})
            middleware = ProfilerMiddleware(inner, **settings)
        else:
            middleware = ProfilerMiddleware(hello_wsgi, **settings)
        return Client(middleware), middleware
    raise SystemExit(f"unknown client {kind!r}")


def send(client: Any, count: int, pause_s: float) -> None:
    """``count`` GETs whose responses are checked and dropped, never closed or read out."""
    for _ in range(count):
        response = client.get("/")
        assert response.status_code == 200
        time.sleep(pause_s)


def main(kind: str, store: str) -> Any:
    from profiler_kit.testing import read_captures

    client, middleware = make_client(kind, store)
    watched = kind == "flask-watched"
    send(client, REQUESTS, 3 * WATCHED_SLOW_MS / 1000 if watched else 0.0)
    middleware.recorder.flush()
    print_report(
        len(read_captures(Path(store))),
        stats=middleware.stats.snapshot(),
        # The last watched request is left registered until the next one (or
        # the exit), and the hub may sample its thread meanwhile.
        wait_for_threads=not watched,
    )
    return client


if __name__ == "__main__":
    kept_client = main(sys.argv[1], sys.argv[2])
    kept_response = kept_client.get("/")  # held until exit, never closed
