"""The FastAPI benchmark app: ``uvicorn bench_fastapi:app``; variant from BENCH_VARIANT.

Both endpoints are ``async def`` so they run on the event loop, where
pyinstrument's recipe sees them too (a ``def`` endpoint runs in the
threadpool, which pyinstrument's async mode does not follow).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bench_common import INTERVAL, VARIANT, burn, keep_profile
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/hello", response_class=PlainTextResponse)
async def hello() -> str:
    return "hello"


@app.get("/cpu", response_class=PlainTextResponse)
async def cpu() -> str:
    return burn()


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class PassThrough:
    """A pure ASGI middleware that does nothing: the cost of any middleware at all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


if VARIANT == "noop":
    app.add_middleware(PassThrough)
elif VARIANT == "pk":
    from profiler_kit.plugins.fastapi import ProfilerMiddleware

    app.add_middleware(ProfilerMiddleware)  # settings from PROFILER_KIT_* set by the driver
elif VARIANT in ("pyinstrument", "pyinstrument-kept"):
    # pyinstrument's documented FastAPI recipe: an ``@app.middleware("http")``
    # starting Profiler(async_mode="enabled") around ``call_next``; here for
    # every request, and the session is discarded instead of rendered as HTML.
    from pyinstrument import Profiler

    @app.middleware("http")
    async def profile_request(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        profiler = Profiler(interval=INTERVAL, async_mode="enabled")
        profiler.start()
        response = await call_next(request)
        profiler.stop()
        if VARIANT == "pyinstrument-kept":
            keep_profile(profiler)  # the recipe writes profile.speedscope.json
        return response
