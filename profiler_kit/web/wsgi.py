"""The WSGI core: profile requests of any WSGI app.

Wrap the app (``app.wsgi_app = ProfilerMiddleware(app.wsgi_app)`` in Flask).
The capture ends when the server closes the response iterable, that is once
the whole body, streamed or not, has been sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

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
        self.recorder = RequestRecorder(
            settings, framework=framework, flight_type=_Exchange, **overrides
        )
        cast("type[_Exchange]", self.recorder.flight_class).middleware = self
        self.route_resolver = route_resolver
        header = self.recorder.settings.trigger_header.upper().replace("-", "_")
        self._token_key = f"HTTP_{header}"
        self._with_query = self.recorder.settings.capture_query_string

    @property
    def stats(self) -> Any:
        return self.recorder.stats

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        # The recorder makes flights of this core's type (flight_type above).
        flight: _Exchange | None = self.recorder.start(  # type: ignore[assignment]
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "") or "/",
            environ.get("QUERY_STRING") if self._with_query else None,
            environ.get(self._token_key),
            False,  # is_async
        )
        if flight is None:
            return self.app(environ, start_response)
        flight.environ = environ
        flight.server_start_response = start_response
        try:
            flight.body = self.app(environ, flight.start_response)
        except BaseException:
            flight.end(error=True)
            raise
        return flight


class _Exchange(InFlight):
    """One watched or profiled request, and the response iterable handed to the server.

    It is the request's :class:`InFlight` too, so a watched request makes this
    one object and nothing else (its cost is part of what fast requests pay).
    It records the status, and iterating it yields the app's own iterator, so
    the server reads the body without a Python-level step per chunk; the
    server's ``close()`` ends the capture once the whole body, streamed or
    not, has been sent.
    """

    body: Iterable[bytes] = ()
    status: int | None = None
    middleware: ProfilerMiddleware  # set on the recorder's flight class
    environ: Environ
    server_start_response: StartResponse

    def start_response(
        self, status_line: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        try:  # noqa: SIM105 - contextlib.suppress costs a microsecond per request
            self.status = int(status_line[:3])
        except ValueError:
            pass
        if exc_info is None:
            return self.server_start_response(status_line, headers)
        return self.server_start_response(status_line, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.end()

    def end(self, *, error: bool = False) -> None:
        middleware = self.middleware
        middleware.recorder.finish(
            self, self.status, middleware.route_resolver, self.environ, error=error
        )
