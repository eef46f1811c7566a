"""FastAPI and Starlette: ``app.add_middleware(ProfilerMiddleware, ...)``.

A pure ASGI middleware. ``def`` endpoints, which FastAPI runs in a
threadpool, are profiled in their worker thread and merged into the
request's capture::

    from profiler_kit.plugins.fastapi import ProfilerMiddleware

    app = FastAPI()
    app.add_middleware(ProfilerMiddleware, sample_rate=0.01, slow_ms=500)
"""

from __future__ import annotations

from profiler_kit.plugins._require import require

require("starlette", "fastapi", "FastAPI or Starlette")

from profiler_kit.web.asgi import ProfilerMiddleware as _ASGIProfilerMiddleware  # noqa: E402

__all__ = ["ProfilerMiddleware"]


class ProfilerMiddleware(_ASGIProfilerMiddleware):
    """The ASGI core, recording FastAPI/Starlette route templates."""

    framework = "fastapi"
