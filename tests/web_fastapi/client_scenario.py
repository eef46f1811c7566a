"""Requests through Starlette's ``TestClient`` or httpx's ``ASGITransport``, in a child process.

Run by ``test_test_clients.py`` as ``python client_scenario.py CLIENT STORE``:
what happens at the interpreter's exit is part of what is checked, so it
runs in a process of its own. Half the requests go to an ``async def``
endpoint, half to a ``def`` one (run in a worker thread, profiled there
too). It prints one JSON line: what the store held and what was still
running once ``REQUESTS`` responses had been dropped unclosed. Then it makes
one more request and keeps that response until exit (the parent counts
``REQUESTS + 1`` captures).
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from pathlib import Path
from typing import Any

from client_scenarios import REQUESTS, print_report
from fastapi import FastAPI

from profiler_kit.plugins.fastapi import ProfilerMiddleware

BASE_URL = "http://127.0.0.1"  # nothing leaves the process: both clients call the app


def make_app(store: str) -> FastAPI:
    app = FastAPI()

    @app.get("/async")
    async def in_loop() -> dict[str, str]:
        return {"hello": "from the event loop"}

    @app.get("/sync")
    def in_thread() -> dict[str, str]:
        return {"hello": "from a worker thread"}

    app.add_middleware(
        ProfilerMiddleware, store=store, sample_rate=1.0, max_captures_per_minute=100000
    )
    return app


def urls(count: int) -> list[str]:
    return ["/async" if number % 2 else "/sync" for number in range(count)]


def send_test_client(app: FastAPI, count: int) -> Any:
    """``count`` GETs through a TestClient used without ``with``; returns the last response."""
    with warnings.catch_warnings():
        # Newer Starlettes want httpx2 and warn (a StarletteDeprecationWarning, a
        # UserWarning) when they find only httpx: not what is checked here.
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    client = TestClient(app, base_url=BASE_URL)
    response = None
    for url in urls(count):
        response = client.get(url)
        assert response.status_code == 200
    return response


def send_asgi_transport(app: FastAPI, count: int) -> Any:
    """``count`` GETs through httpx.AsyncClient on an ASGITransport; returns the last response."""
    import httpx

    async def send() -> Any:
        transport = httpx.ASGITransport(app=app)
        response = None
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            for url in urls(count):
                response = await client.get(url)
                assert response.status_code == 200
        return response

    return asyncio.run(send())


SENDERS = {"testclient": send_test_client, "asgitransport": send_asgi_transport}


def main(kind: str, store: str) -> FastAPI:
    from profiler_kit.testing import wait_for_captures

    app = make_app(store)
    SENDERS[kind](app, REQUESTS)
    # Written by the background writer: wait for it (a short wait when some are missing).
    captures = wait_for_captures(Path(store), REQUESTS, timeout=10.0)
    print_report(len(captures))
    return app


if __name__ == "__main__":
    kept_app = main(sys.argv[1], sys.argv[2])
    kept_response = SENDERS[sys.argv[1]](kept_app, 1)  # held until exit, never closed
