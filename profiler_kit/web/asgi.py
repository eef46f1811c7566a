"""The ASGI core: a pure ASGI middleware (no ``BaseHTTPMiddleware``).

Starlette's ``@app.middleware("http")`` costs about 120 µs a request by
itself; a pure ASGI middleware costs nothing measurable. The capture ends
right after the last body chunk is sent, so streaming responses are covered
to their end, and exceptions from the app pass through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

from profiler_kit.config import Settings
from profiler_kit.web.recorder import InFlight, RequestRecorder
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
        self.recorder = RequestRecorder(
            settings, framework=self.framework, flight_type=_Exchange, **overrides
        )
        cast("type[_Exchange]", self.recorder.flight_class).middleware = self
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
        # The recorder makes flights of this core's type (flight_type above).
        flight: _Exchange | None = self.recorder.start(  # type: ignore[assignment]
            scope.get("method", "GET"), scope.get("path", "/"), query, token, is_async=True
        )
        if flight is None:
            await self.app(scope, receive, send)
            return
        flight.scope = scope
        flight.server_send = send
        try:
            await self.app(scope, receive, flight.send)
        except BaseException:
            flight.end(error=True)
            raise
        if not flight.finished:  # the app returned without sending the whole body
            flight.end()


class _Exchange(InFlight):
    """One watched or profiled request, and the ``send`` the app is given.

    It is the request's :class:`InFlight` too, so a watched request makes this
    one object and no closure (its cost is part of what fast requests pay).
    ``send`` records the status and ends the capture right after the last
    body chunk has gone out.
    """

    status: int | None = None
    middleware: ProfilerMiddleware  # set on the recorder's flight class
    scope: Scope
    server_send: Send

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message.get("status")
            await self.server_send(message)
            return
        await self.server_send(message)
        if kind == "http.response.body" and not message.get("more_body", False):
            self.end()

    def end(self, *, error: bool = False) -> None:
        middleware = self.middleware
        middleware.recorder.finish(
            self, self.status, middleware.route_resolver, self.scope, error=error
        )
