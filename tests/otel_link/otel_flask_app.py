"""The Flask app the otel_link tests run under gunicorn (``otel_flask_app:app``).

``PKT_WIRING``: ``instrument-first`` calls ``FlaskInstrumentor().instrument_app(app)``
before ``ProfilerKit(app)``, ``instrument-last`` after it. See ``otel_link_tracing``
for ``PKT_OTEL`` and the exporter; the tracer provider is set up at import, which
gunicorn does in each worker.
"""

from __future__ import annotations

import hashlib

from flask import Flask, abort
from otel_link_tracing import HOT_ROUNDS, configure_tracing, wiring

from profiler_kit.plugins.flask import ProfilerKit

WIRINGS = ("instrument-first", "instrument-last")


def pkot_flask_hot(rounds: int) -> str:
    digest = b""
    for _ in range(rounds):
        digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


app = Flask(__name__)


@app.get("/hot/<int:n>")
def hot(n: int) -> dict[str, object]:
    return {"n": n, "digest": pkot_flask_hot(HOT_ROUNDS)}


@app.get("/text/<int:n>")
def text(n: int) -> str:
    return f"text {n}\n"


@app.get("/missing/<int:n>")
def missing(n: int) -> str:
    abort(404)


def _wire() -> ProfilerKit:
    mode = configure_tracing()
    chosen = wiring("instrument-first")
    if chosen not in WIRINGS:
        raise ValueError(f"PKT_WIRING must be one of {WIRINGS}, not {chosen!r}")
    if mode == "absent":
        return ProfilerKit(app)
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    if chosen == "instrument-first":
        FlaskInstrumentor().instrument_app(app)
        return ProfilerKit(app)
    kit = ProfilerKit(app)
    FlaskInstrumentor().instrument_app(app)
    return kit


kit = _wire()
