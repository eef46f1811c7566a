"""The FastAPI app the otel_link tests run under uvicorn (``otel_fastapi_app:app``).

``PKT_WIRING`` says how OpenTelemetry and profiler-kit are installed (Starlette's
``add_middleware`` puts the middleware added last outermost):

* ``instrument-first``: ``FastAPIInstrumentor.instrument_app(app)``, then ``add_middleware(ours)``;
* ``instrument-last``: ``add_middleware(ours)``, then ``instrument_app(app)``;
* ``asgi-inside``: the plain ASGI ``OpenTelemetryMiddleware`` added before ours (inside it);
* ``asgi-outside``: ours added before the ``OpenTelemetryMiddleware`` (it is outside ours).

See ``otel_link_tracing`` for ``PKT_OTEL`` and the exporter.
"""

from __future__ import annotations

import hashlib

from fastapi import FastAPI, HTTPException
from fastapi.responses import PlainTextResponse
from otel_link_tracing import ALLOCATION_BYTES, HOT_ROUNDS, configure_tracing, wiring

from profiler_kit.plugins.fastapi import ProfilerMiddleware

WIRINGS = ("instrument-first", "instrument-last", "asgi-inside", "asgi-outside")


def pkot_fastapi_async_hot(rounds: int) -> str:
    digest = b""
    for _ in range(rounds):
        digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


def pkot_fastapi_sync_hot(rounds: int) -> str:
    digest = b""
    for _ in range(rounds):
        digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


def pkot_fastapi_allocate(size: int) -> int:
    block = bytearray(size)
    return len(block)


app = FastAPI()


@app.get("/hot-async/{n}")
async def hot_async(n: int) -> dict[str, object]:
    return {"n": n, "digest": pkot_fastapi_async_hot(HOT_ROUNDS)}


@app.get("/hot-sync/{n}")
def hot_sync(n: int) -> dict[str, object]:
    return {"n": n, "digest": pkot_fastapi_sync_hot(HOT_ROUNDS)}


@app.get("/allocate/{n}")
async def allocate(n: int) -> dict[str, object]:
    return {"n": n, "allocated": pkot_fastapi_allocate(ALLOCATION_BYTES)}


@app.get("/text/{n}")
async def text(n: int) -> PlainTextResponse:
    return PlainTextResponse(f"text {n}\n")


@app.get("/missing/{n}")
async def missing(n: int) -> dict[str, object]:
    raise HTTPException(status_code=404, detail=f"no such thing: {n}")


def _wire() -> None:
    mode = configure_tracing()
    chosen = wiring("instrument-first")
    if chosen not in WIRINGS:
        raise ValueError(f"PKT_WIRING must be one of {WIRINGS}, not {chosen!r}")
    if mode == "absent":
        app.add_middleware(ProfilerMiddleware)
        return
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    if chosen == "instrument-first":
        FastAPIInstrumentor.instrument_app(app)
        app.add_middleware(ProfilerMiddleware)
    elif chosen == "instrument-last":
        app.add_middleware(ProfilerMiddleware)
        FastAPIInstrumentor.instrument_app(app)
    elif chosen == "asgi-inside":
        app.add_middleware(OpenTelemetryMiddleware)
        app.add_middleware(ProfilerMiddleware)
    else:
        app.add_middleware(ProfilerMiddleware)
        app.add_middleware(OpenTelemetryMiddleware)


_wire()
