"""The Flask app the web_flask tests run under gunicorn (``flask_app_under_test:app``).

Environment knobs read here (besides the ``PROFILER_KIT_*`` settings, which
profiler-kit reads itself):

* ``FAULT=memray``: ``memray.Tracker`` is replaced by a class whose
  ``__enter__`` raises, as if memray could not start in this process.
* ``FAULT=hook``: ``ProfilerKit`` gets a capture hook that always raises.
* ``PROPAGATE_EXCEPTIONS=1``: unhandled exceptions propagate out of the WSGI
  app (gunicorn answers 500) instead of Flask turning them into a response.
* ``STATS_DIR``: at worker exit, after profiler-kit's own exit flush, the
  worker writes its profiler-kit counters to ``STATS_DIR/<pid>.json``.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import time
from pathlib import Path

from flask import Flask, Response, abort, request, stream_with_context


def _dump_stats() -> None:
    """Write this worker's profiler-kit counters to ``STATS_DIR/<pid>.json``.

    Registered before profiler-kit is imported, so (atexit being last-in,
    first-out) it runs *after* profiler-kit's own exit flush: it observes that
    flush instead of doing it, and only checks, without waiting, that nothing
    is still queued.
    """
    directory = os.environ.get("STATS_DIR")
    middleware = kit.middleware if "kit" in globals() else None
    if not directory or middleware is None:
        return
    snapshot = {
        "pending_at_exit": not middleware.recorder.writer.flush(timeout=0),
        "counters": middleware.stats.snapshot(),
    }
    (Path(directory) / f"{os.getpid()}.json").write_text(json.dumps(snapshot))


atexit.register(_dump_stats)

from profiler_kit.plugins.flask import ProfilerKit  # noqa: E402  (after the atexit hook)

FAULT = os.environ.get("FAULT", "")

if FAULT == "memray":
    import memray

    class BrokenTracker:
        """Stands in for ``memray.Tracker``: constructs, then fails to start."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __enter__(self) -> BrokenTracker:
            raise RuntimeError("injected fault: memray tracker cannot start")

        def __exit__(self, *exc_info: object) -> None:
            return None

    memray.Tracker = BrokenTracker


def raising_hook(method: str, path: str) -> bool | None:
    raise RuntimeError(f"injected fault: capture hook fails for {method} {path}")


app = Flask(__name__)
if os.environ.get("PROPAGATE_EXCEPTIONS") == "1":
    app.config["PROPAGATE_EXCEPTIONS"] = True  # unhandled errors leave the app, to gunicorn
kit = ProfilerKit(app, **({"hook": raising_hook} if FAULT == "hook" else {}))


def burn_cpu_hot_loop(ms: int) -> str:
    """Spend ``ms`` milliseconds of this thread's CPU time (and at most 20 times that of
    wall time, should the machine be too busy to give it that much CPU)."""
    cpu_deadline = time.thread_time() + ms / 1000.0
    wall_deadline = time.perf_counter() + 20 * ms / 1000.0
    digest = b""
    while time.thread_time() < cpu_deadline and time.perf_counter() < wall_deadline:
        for _ in range(200):
            digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


def render_stream_chunk(index: int, sleep_ms: int) -> str:
    """One streamed chunk: a short sleep and a little hashing."""
    time.sleep(sleep_ms / 1000.0)
    digest = b""
    for _ in range(300):
        digest = hashlib.sha256(digest + str(index).encode()).digest()
    return f"chunk {index} {digest.hex()[:16]}\n"


@app.get("/hello")
def hello() -> str:
    return "hello"


@app.get("/items/<int:item_id>")
def item(item_id: int) -> dict[str, object]:
    return {"id": item_id}


@app.get("/sleep/<int:ms>")
def sleep(ms: int) -> str:
    time.sleep(ms / 1000.0)
    return f"slept {ms}"


@app.get("/cpu/<int:ms>")
def cpu(ms: int) -> str:
    burn_cpu_hot_loop(ms)
    return f"burned {ms}"


@app.get("/missing/<name>")
def missing(name: str) -> str:
    abort(404)


@app.get("/boom")
def boom() -> str:
    raise RuntimeError("injected application error")


@app.get("/health")
@app.get("/health/deep")
@app.get("/healthz")
def health() -> str:
    return "ok"


@app.get("/stream")
def stream() -> Response:
    chunks = int(request.args.get("chunks", "5"))
    sleep_ms = int(request.args.get("sleep_ms", "50"))

    def generate():  # type: ignore[no-untyped-def]
        for index in range(chunks):
            yield render_stream_chunk(index, sleep_ms)

    return Response(stream_with_context(generate()), mimetype="text/plain")


@app.get("/echo")
def echo() -> dict[str, object]:
    # Touch the sensitive inputs, so they pass through the profiled code, and work
    # long enough for the profile to hold this function's frames.
    burn_cpu_hot_loop(20)
    return {
        "args": sorted(request.args),
        "cookies": sorted(request.cookies),
        "authorization": request.headers.get("Authorization") is not None,
    }
