"""The ASGI core: a pure ASGI middleware (no ``BaseHTTPMiddleware``).

Starlette's ``@app.middleware("http")`` costs about 120 µs a request by
itself; a pure ASGI middleware costs nothing measurable. The capture ends
right after the last body chunk is sent, so streaming responses are covered
to their end, and exceptions from the app pass through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from profiler_kit.config import Settings
from profiler_kit.web.recorder import RequestRecorder
from profiler_kit.web.threadpool import install_anyio_hop

__all__ = ["ProfilerMiddleware", "scope_route"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def scope_route(scope: Scope) -> str | None:
    """The route template Starlette's router stored in the scope (``/users/{id}``)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        root = scope.get("root_path", "") or ""
        return root + path if root and not path.startswith(root) else path
    return None


class ProfilerMiddleware:
    """ASGI middleware; settings as keyword arguments, env vars or pyproject.toml."""

    framework = "asgi"

    def __init__(
        self,
        app: Callable[..., Awaitable[None]],
        /,
        settings: Settings | None = None,
        *,
        route_resolver: Callable[[Scope], str | None] = scope_route,
        **overrides: Any,
    ) -> None:
        self.app = app
        self.recorder = RequestRecorder(settings, framework=self.framework, **overrides)
        self.route_resolver = route_resolver
        self._token_header = self.recorder.settings.trigger_header.lower().encode("latin-1")
        self._with_query = self.recorder.settings.capture_query_string
        self._enabled = self.recorder.settings.enabled
        self._has_secret = bool(self.recorder.settings.trigger_secret)
        install_anyio_hop()

    @property
    def stats(self) -> Any:
        return self.recorder.stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._enabled or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = None
        if self._has_secret:
            for name, value in scope.get("headers", ()):
                if name == self._token_header:
                    token = value.decode("latin-1")
                    break
        query = scope.get("query_string", b"").decode("latin-1") if self._with_query else None
        recorder = self.recorder
        flight = recorder.start(
            scope.get("method", "GET"),
            scope.get("path", "/"),
            query,
            token,
            True,  # is_async
        )
        if flight is None:
            await self.app(scope, receive, send)
            return
        status: int | None = None
        resolver = self.route_resolver

        async def recording_send(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message.get("status")
                await send(message)
                return
            await send(message)
            if kind == "http.response.body" and not message.get("more_body", False):
                recorder.finish(flight, status, resolver, scope)

        try:
            await self.app(scope, receive, recording_send)
        except BaseException:
            recorder.finish(flight, status, resolver, scope, error=True)
            raise
        if not flight.finished:  # the app returned without sending the whole body
            recorder.finish(flight, status, resolver, scope)
