"""The Flask app the fault tests run under gunicorn (``faults_flask_app:app``).

Profiling is configured only by the ``PROFILER_KIT_*`` environment the test
gives the server. ``/_pk/state`` (left out of profiling by the tests through
``PROFILER_KIT_EXCLUDE_PATHS=/_pk/*``) answers this worker's profiler-kit
counters, its writer's queue depth and how many other requests it served, as
JSON; every other response carries the same facts in two headers
(``X-Worker-Pid``, ``X-PK-State``), taken before the request's own capture is
handed to the writer. That is how the tests account for every capture without
waiting for a worker to exit (a SIGKILLed one never does).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from typing import Any

from fault_app_common import digest, process_state
from flask import Flask, Response, jsonify, request

from profiler_kit.plugins.flask import ProfilerKit

app = Flask(__name__)
kit = ProfilerKit(app)

_served = 0
_served_lock = threading.Lock()


def state() -> dict[str, Any]:
    middleware = kit.middleware
    return process_state(middleware, _served)


@app.before_request
def count_request() -> None:
    global _served
    if not request.path.startswith("/_pk/"):
        with _served_lock:
            _served += 1


@app.after_request
def tag_response(response: Response) -> Response:
    if not request.path.startswith("/_pk/"):
        response.headers["X-Worker-Pid"] = str(os.getpid())
        response.headers["X-PK-State"] = json.dumps(state(), separators=(",", ":"))
    return response


@app.get("/hello")
def hello() -> str:
    return "hello"


@app.get("/items/<int:item_id>")
def item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "digest": digest(500, str(item_id))}


@app.get("/cpu/<int:ms>")
def cpu(ms: int) -> str:
    """About ``ms`` ms of this thread's CPU time (bounded at 20x that in wall time)."""
    cpu_deadline = time.thread_time() + ms / 1000.0
    wall_deadline = time.perf_counter() + 20 * ms / 1000.0
    value = b""
    while time.thread_time() < cpu_deadline and time.perf_counter() < wall_deadline:
        for _ in range(100):
            value = hashlib.sha256(value).digest()
    return f"burned {ms}"


@app.get("/_pk/state")
def pk_state() -> Response:
    return jsonify(state())
