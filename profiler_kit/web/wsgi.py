"""The WSGI core: profile requests of any WSGI app.

Wrap the app (``app.wsgi_app = ProfilerMiddleware(app.wsgi_app)`` in Flask).
The capture ends when the server closes the response iterable, that is once
the whole body, streamed or not, has been sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from profiler_kit.config import Settings
from profiler_kit.web.recorder import InFlight, RequestRecorder

__all__ = ["ProfilerMiddleware"]

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
RouteResolver = Callable[[Environ], "str | None"]


class ProfilerMiddleware:
    """WSGI middleware; settings as keyword arguments, env vars or pyproject.toml."""

    def __init__(
        self,
        app: WSGIApp,
        settings: Settings | None = None,
        *,
        route_resolver: RouteResolver | None = None,
        framework: str = "wsgi",
        **overrides: Any,
    ) -> None:
        self.app = app
        self.recorder = RequestRecorder(settings, framework=framework, **overrides)
        self.route_resolver = route_resolver
        header = self.recorder.settings.trigger_header.upper().replace("-", "_")
        self._token_key = f"HTTP_{header}"
        self._with_query = self.recorder.settings.capture_query_string

    @property
    def stats(self) -> Any:
        return self.recorder.stats

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        flight = self.recorder.start(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "") or "/",
            environ.get("QUERY_STRING") if self._with_query else None,
            environ.get(self._token_key),
            is_async=False,
        )
        if flight is None:
            return self.app(environ, start_response)
        exchange = _Exchange(self, flight, environ, start_response)
        try:
            exchange.body = self.app(environ, exchange.start_response)
        except BaseException:
            exchange.finish(error=True)
            raise
        return exchange


class _Exchange:
    """One profiled request: records the status, hands the body on, ends the capture on close.

    A single slotted object instead of closures and a separate body wrapper:
    every watched request makes one, so its cost is part of what fast requests pay.
    Iterating it yields the app's own iterator, so the server reads the body
    without a Python-level step per chunk; the server's ``close()`` ends the
    capture once the whole body, streamed or not, has been sent.
    """

    __slots__ = ("_environ", "_flight", "_middleware", "_start_response", "body", "status")

    def __init__(
        self,
        middleware: ProfilerMiddleware,
        flight: InFlight,
        environ: Environ,
        start_response: StartResponse,
    ) -> None:
        self._middleware = middleware
        self._flight = flight
        self._environ = environ
        self._start_response = start_response
        self.body: Iterable[bytes] = ()
        self.status: int | None = None

    def start_response(
        self, status_line: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        try:  # noqa: SIM105 - contextlib.suppress costs a microsecond per request
            self.status = int(status_line[:3])
        except ValueError:
            pass
        if exc_info is None:
            return self._start_response(status_line, headers)
        return self._start_response(status_line, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.finish()

    def finish(self, *, error: bool = False) -> None:
        middleware = self._middleware
        middleware.recorder.finish(
            self._flight, self.status, middleware.route_resolver, self._environ, error=error
        )
