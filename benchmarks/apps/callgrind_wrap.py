"""The benchmark apps behind a callgrind switch: ``/_callgrind/ACTION``, outside every middleware.

Used by ``benchmarks/web_instructions.py``, which runs the server under
valgrind's callgrind and asks the serving process itself (a gunicorn worker
is a forked child, which vgdb cannot reach) to start instrumenting, zero its
counters and dump them, through valgrind client requests. The switch wraps
the whole app, profiler-kit's middleware included, so the measured requests
pass through exactly what they pass through in ``web_overhead.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from profiler_kit.check.valgrind_requests import CallgrindControl

PREFIX = "/_callgrind/"
_control = CallgrindControl()


def _act(path: str) -> bool:
    action = path[len(PREFIX) :]
    if action == "start":
        _control.start_instrumentation()
    elif action == "zero":
        _control.zero()
    elif action == "dump":
        _control.dump(f"pid-{os.getpid()}")
    else:
        return False
    return True


def _wsgi(inner: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX):
            ok = _act(path)
            start_response("200 OK" if ok else "404 Not Found", [("Content-Length", "0")])
            return [b""]
        return inner(environ, start_response)

    return app


def _asgi(inner: Any) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            ok = _act(scope["path"])
            await send({"type": "http.response.start", "status": 200 if ok else 404,
                        "headers": [(b"content-length", b"0")]})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
            return
        await inner(scope, receive, send)

    return app


def __getattr__(name: str) -> Any:
    """``flask_app``, ``django_app``, ``fastapi_app``: imported only when asked for."""
    if name == "flask_app":
        from bench_flask import app as flask

        return _wsgi(flask)
    if name == "django_app":
        from bench_django import application

        return _wsgi(application)
    if name == "fastapi_app":
        from bench_fastapi import app as fastapi

        return _asgi(fastapi)
    raise AttributeError(name)
