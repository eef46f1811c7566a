"""The WSGI core: profile requests of any WSGI app.

Wrap the app (``app.wsgi_app = ProfilerMiddleware(app.wsgi_app)`` in Flask).
A capture ends when the server closes the response iterable, that is once
the whole body, streamed or not, has been sent.

Test clients (Werkzeug's, and so Flask's) hand the response to the test and
never close it unless the test does, which nearly no test does. So a request
profiled from its first line also ends when its body has been read to the
end or when its response is dropped, whichever comes first; and a request
whose server or client moved on without ending it is ended when the next
request starts on the same thread (a thread serves one request at a time),
or at exit. That keeps pyinstrument from running on past the request, on a
thread it would sample for the rest of the process.
"""

from __future__ import annotations

import atexit
import gc
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from profiler_kit.capture.sampler import hub
from profiler_kit.config import Settings
from profiler_kit.web.recorder import InFlight, RequestRecorder

__all__ = ["ProfilerMiddleware", "end_left_requests"]

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]
RouteResolver = Callable[[Environ], "str | None"]

# A flight's body until the app has returned one: the request is still in the
# app (a second middleware of ours nested inside it may start meanwhile).
_IN_APP: list[bytes] = []


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
            flight.end(False, True)
            raise
        if flight.decision.reason is None:
            return flight  # watched: no profiler runs until the hub finds it slow
        return _Profiled(flight)


class _Exchange(InFlight):
    """One watched or profiled request, and the response iterable handed to the server.

    It is the request's :class:`InFlight` too, so a watched request makes this
    one object and nothing else (its cost is part of what fast requests pay).
    It records the status, and iterating it yields the app's own iterator, so
    the server reads the body without a Python-level step per chunk; the
    server's ``close()`` ends the capture once the whole body, streamed or
    not, has been sent.
    """

    body: Iterable[bytes] = _IN_APP
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

    def end(self, left: bool = False, error: bool = False) -> None:
        """``left``: the server never said when the response was done (see recorder.finish)."""
        middleware = self.middleware
        middleware.recorder.finish(
            self, self.status, middleware.route_resolver, self.environ, error, left
        )

    def end_if_left(self) -> bool:
        """Called by the recorder when a request starts on a thread where this one
        is still registered: False if this one is still in the app (the new one is
        a nested middleware's), else this one was left unended, and is ended now.
        """
        if self.body is _IN_APP:
            return False
        self.stats.incr("response.not_closed")  # type: ignore[union-attr]
        self.end(True)
        _end_inner(self.body, True)
        return True


class _Profiled:
    """The response iterable of a request profiled from its first line.

    A test client may never close it, so its end is also seen when the body
    has been read to the end or when the iterable is dropped. This costs a
    Python call per chunk and a ``__del__`` per response: only profiled
    requests get one, never a watched request.
    """

    __slots__ = ("chunks", "flight")

    def __init__(self, flight: _Exchange) -> None:
        self.flight = flight
        self.chunks: Iterator[bytes] | None = None
        if not _collections.watched:
            _collections.watch()

    def __iter__(self) -> Iterator[bytes]:
        if self.chunks is None:
            self.chunks = iter(self.flight.body)
        return self

    def __next__(self) -> bytes:
        try:
            return next(self.chunks)  # type: ignore[arg-type]
        except StopIteration:
            self._end(False)
            raise

    def close(self) -> None:
        flight = self.flight
        try:
            close = getattr(flight.body, "close", None)
            if close is not None:
                close()
        finally:
            self._end(False)

    def _end(self, left: bool) -> None:
        flight = self.flight
        if flight.finished:
            return
        if flight.thread_id != threading.get_ident():
            # Its profilers can only be stopped on the thread that started them:
            # the next request on that thread, or the exit, ends it (end_if_left).
            return
        if left:
            flight.stats.incr("response.not_closed")  # type: ignore[union-attr]
        flight.end(left)
        # A nested middleware's response inside this one ended here too.
        _end_inner(flight.body, left)

    def __del__(self) -> None:
        # Dropped by the garbage collector, it may be anywhere in this thread: in
        # pyinstrument's profile hook (stopping the profiler there frees the hook
        # under its own feet: crashes and "failed to get value of the context var"
        # in Flask's own test suite), or holding one of our locks. Then the next
        # request on its thread, or the exit, ends it (end_if_left). A plain drop
        # is a statement of the code that held it: end it now.
        # No contextlib here: at the interpreter's exit module globals may be gone.
        try:
            if not _collections.running:
                self._end(True)
        except Exception:  # noqa: S110
            pass


class _Collections:
    """Whether the garbage collector is running (a finalizer cannot tell by itself).

    Watched from the first profiled response on (a callback at the start and
    end of every collection), so a process that never profiles pays nothing.
    """

    running = False
    watched = False

    def watch(self) -> None:
        self.watched = True
        gc.callbacks.append(self._seen)

    def _seen(self, phase: str, info: dict[str, int]) -> None:
        self.running = phase == "start"


_collections = _Collections()


def _end_inner(body: Any, left: bool) -> None:
    if isinstance(body, _Exchange):
        if not body.finished:
            body.end(left)
        _end_inner(body.body, left)
    elif isinstance(body, _Profiled):
        body._end(left)


def end_left_requests() -> None:
    """End the requests of the calling thread that were handed over and never ended.

    Runs at exit (before the background writer's last flush, registered
    earlier): a test that kept its last response until the end leaves its
    profiler running into the interpreter's shutdown otherwise.
    """
    me = threading.get_ident()
    for target in hub.registered():
        end_if_left = getattr(target, "end_if_left", None)
        if end_if_left is None or not isinstance(target, InFlight):
            continue
        if target.thread_id == me and not target.finished:
            end_if_left()


atexit.register(end_left_requests)
