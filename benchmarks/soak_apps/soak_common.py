"""What the soak wrappers share: the ``/_soak/stats`` answer.

The wrappers serve ``/_soak/stats`` *outside* profiler-kit's middleware (the
path never reaches the example app), so reading the counters adds no request
to profile, sample or count. The counters are those of the process's
background writer, found in profiler-kit's registry of writers: the writer is
created by the middleware with the middleware's own ``Stats`` object, so its
``stats`` are the middleware's counters (skips, drops, failures, writes).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

STATS_PATH = "/_soak/stats"


def _writer() -> Any:
    from profiler_kit.web import writer as writer_module

    mine = [
        writer
        for (pid, _), writer in list(writer_module._writers.items())
        if writer.active_pid == os.getpid() or pid == os.getpid()
    ]
    return mine[-1] if mine else None


def stats_json() -> bytes:
    """This process's profiler-kit counters and writer state, as JSON."""
    writer = _writer()
    state: dict[str, Any] = {
        "pid": os.getpid(),
        "writer": writer is not None,
        # Live Python memory blocks: flat while RSS climbs means freed memory the
        # allocators keep (fragmentation), rising means objects still held.
        "py_blocks": sys.getallocatedblocks(),
    }
    if writer is not None:
        state.update(
            counters=writer.stats.snapshot(),
            depth=writer.depth(),
            idle=writer.flush(timeout=0),  # True: nothing queued or being written
            queue_size=writer.queue_size,
            max_captures=writer.max_captures,
            max_bytes=writer.max_bytes,
            store=str(writer.store_path),
        )
    return json.dumps(state).encode()


def wsgi_wrap(app: Any) -> Any:
    """A WSGI app answering STATS_PATH itself and passing everything else to ``app``."""

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == STATS_PATH:
            body = stats_json()
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return app(environ, start_response)

    return application


def asgi_wrap(app: Any) -> Any:
    """An ASGI app answering STATS_PATH itself and passing everything else to ``app``."""

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") == STATS_PATH:
            body = stats_json()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return application
