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
        status: list[int] = []

        def recording_start_response(
            status_line: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            try:  # noqa: SIM105 - contextlib.suppress costs a microsecond per request
                status.append(int(status_line[:3]))
            except ValueError:
                pass
            if exc_info is None:
                return start_response(status_line, headers)
            return start_response(status_line, headers, exc_info)

        try:
            body = self.app(environ, recording_start_response)
        except BaseException:
            self._finish(flight, environ, status, error=True)
            raise
        return _ClosingBody(body, lambda: self._finish(flight, environ, status))

    def _finish(
        self, flight: InFlight, environ: Environ, status: list[int], *, error: bool = False
    ) -> None:
        resolver = self.route_resolver
        route = (lambda: resolver(environ)) if resolver is not None else None
        self.recorder.finish(flight, status[-1] if status else None, route, error=error)


class _ClosingBody:
    """The app's response iterable, ending the capture when the server closes it."""

    __slots__ = ("_body", "_iterator", "_on_close")

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self._body = body
        self._iterator: Iterator[bytes] | None = None
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        self._iterator = iter(self._body)
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = iter(self._body)
        return next(self._iterator)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close()
