"""The FastAPI app the fault tests run under uvicorn (``faults_fastapi_app:app``).

Like ``faults_flask_app``: ``/_pk/state`` (excluded from profiling by the tests
through ``PROFILER_KIT_EXCLUDE_PATHS=/_pk/*``) answers this process's
profiler-kit counters, writer queue depth and how many other requests it
served. The middleware instance is caught by a subclass, since Starlette
builds it lazily from ``add_middleware``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from fault_app_common import digest, process_state

from profiler_kit.plugins.fastapi import ProfilerMiddleware

_instances: list[ProfilerMiddleware] = []
_served = 0


class ExposedProfilerMiddleware(ProfilerMiddleware):
    """The plugin's middleware, remembered so ``/_pk/state`` can read its counters."""

    def __init__(self, app: Any, **settings: Any) -> None:
        super().__init__(app, **settings)
        _instances.append(self)


app = FastAPI()
app.add_middleware(ExposedProfilerMiddleware)


def state() -> dict[str, Any]:
    middleware = _instances[-1] if _instances else None
    return process_state(middleware, _served)


@app.middleware("http")
async def count_requests(request: Request, call_next: Any) -> Any:
    global _served
    if not request.url.path.startswith("/_pk/"):
        _served += 1  # one event loop: no lock needed
    return await call_next(request)


@app.get("/hello", response_class=PlainTextResponse)
async def hello() -> str:
    return "hello"


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "digest": digest(500, str(item_id))}


@app.get("/sync/{item_id}")
def sync_item(item_id: int) -> dict[str, object]:
    """A ``def`` endpoint: run in the threadpool."""
    return {"id": item_id, "digest": digest(500, str(item_id))}


@app.get("/_pk/state")
async def pk_state() -> dict[str, Any]:
    return state()
