"""One request's capture, from the decision at its start to the writer.

:class:`RequestRecorder` is what every plugin holds. ``start()`` asks the
policy, attaches the profilers and returns an :class:`InFlight` (or ``None``
for the common case of a request that is left alone). ``finish()`` stops the
profilers, decides whether a watched request was slow enough to keep, and
hands a builder to the background writer. Neither ever raises: a failure
costs a counter and one log line, never the request.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from asyncio import get_running_loop
from collections.abc import Callable
from contextvars import ContextVar, Token
from pathlib import Path
from typing import Any

from profiler_kit.capture import gcwatch
from profiler_kit.capture.gcwatch import GcTally
from profiler_kit.capture.rss import read_rss
from profiler_kit.capture.sampler import hub
from profiler_kit.capture.tasks import running_task
from profiler_kit.config import Settings, load_settings
from profiler_kit.errors import MemoryBusyError
from profiler_kit.otel.link import (
    SpanLink,
    current_span_link,
    current_trace_ids,
    install_span_catcher,
    sdk_state,
)
from profiler_kit.store.record import Capture, KeepReason
from profiler_kit.web.assembly import CaptureAssembler
from profiler_kit.web.counters import Stats
from profiler_kit.web.engines import WATCH_FROM, RequestEngines
from profiler_kit.web.policy import CaptureHook, Decision, Policy
from profiler_kit.web.writer import BackgroundWriter, writer_for

__all__ = ["CURRENT", "InFlight", "RequestRecorder"]

CURRENT: ContextVar[InFlight | None] = ContextVar("profiler_kit_request", default=None)
RouteOf = str | None | Callable[[Any], str | None]


class InFlight(RequestEngines):
    """A request that is being profiled, or watched in case it turns slow.

    It is its own :class:`RequestEngines` (and so its own sampler-hub
    target): a watched request makes this one object and nothing else, and
    sets only the fields that differ from the class defaults, because its
    cost is part of what every fast request pays. Each recorder makes its
    flights from a subclass of its own, holding what all its requests share
    (``interval``, ``stats``).

    :meth:`RequestRecorder.start` fills a new one in itself, without an
    ``__init__``: calling a class with a Python ``__init__`` cost ~840 CPU
    instructions more per request (callgrind, Python 3.11). The fields read
    on every request's way out (``finished``, ``otel``, ``_token``) are set
    on the instance: 3.11 cannot specialise reading a class attribute through
    an instance, which cost ~400 more.
    """

    decision: Decision
    method: str
    path: str
    query: str | None
    started: float  # perf_counter() at the start
    gc: GcTally | None = None
    finished = False
    _token: Token[InFlight | None] | None = None
    pending_finish: Callable[[], None] | None = None
    otel: SpanLink | None = None  # the request's server span, held until linked
    context_var = CURRENT  # on an event loop: its child tasks hold it too (see SampleTarget)
    cpu0 = 0.0
    stats: Stats | None = None


_new = object.__new__


def current_flight() -> InFlight | None:
    """The request the calling thread or task is serving, if it is watched or profiled.

    A request on an event loop is found through the context variable; one
    served on its own thread through the hub's registry, keyed by thread,
    which costs a sync request no context variable of its own.
    """
    flight = CURRENT.get()
    if flight is None:
        flight = hub.target_of(threading.get_ident())  # type: ignore[assignment]
    return flight


class RequestRecorder:
    """The capture machinery one middleware instance uses."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        framework: str,
        stats: Stats | None = None,
        hook: CaptureHook | None = None,
        flight_type: type[InFlight] | None = None,
        **overrides: Any,
    ) -> None:
        """``flight_type`` lets a server core add its own per-request state to the
        one object a watched request makes (the WSGI core's response iterable);
        its attributes common to all requests go on
        :attr:`flight_class`."""
        self.settings = settings if settings is not None else load_settings(overrides)
        self.framework = framework
        self.stats = stats or Stats()
        base = flight_type or InFlight
        # This recorder's own flight class: what its requests share lives on it.
        self.flight_class: type[InFlight] = type(
            base.__name__,
            (base,),
            {
                "__module__": base.__module__,
                "__qualname__": base.__qualname__,
                "interval": self.settings.interval,
                "engine": self.settings.request_engine,
                "stats": self.stats,
            },
        )
        self.policy = Policy(self.settings, self.stats, hook=hook)
        self.host = self.settings.host or socket.gethostname()
        self.writer: BackgroundWriter = writer_for(
            Path(self.settings.store),
            self.stats,
            queue_size=self.settings.queue_size,
            max_captures=self.settings.retention_max_captures,
            max_bytes=self.settings.retention_max_bytes,
        )
        self.assembler = CaptureAssembler(self.settings, self.stats, self.host)
        self._slow_s = self.settings.slow_ms / 1000.0
        self._watch_after_s = self._slow_s * WATCH_FROM
        gcwatch.install(current_flight)
        self._catch_server_spans()

    def _catch_server_spans(self) -> None:
        try:
            install_span_catcher(current_flight)
        except Exception as error:
            self.stats.failure("watching OpenTelemetry spans", error)

    # -- request start -------------------------------------------------------

    def start(
        self, method: str, path: str, query: str | None, token: str | None, is_async: bool
    ) -> InFlight | None:
        """The request's flight, or ``None`` to leave it alone.

        The plugins call this, and :meth:`finish` on the common path, with
        positional arguments only: Python 3.11 does not specialise a call with
        keyword arguments, which cost ~200 CPU instructions more per request.
        """
        try:
            decision = self.policy.decide(path, token, method)
            if decision is None:
                return None
            flight = _new(self.flight_class)  # see InFlight: no __init__, on purpose
            flight.decision = decision
            flight.method = method
            flight.path = path
            flight.query = query
            flight.thread_id = threading.get_ident()
            flight.started = time.perf_counter()
            flight.finished = False
            flight.otel = None
            flight._token = None
            if is_async:
                # The loop thread's CPU clock also runs for other requests: async CPU
                # time comes from samples instead, so skip the (slow) clock read there.
                # Sampled only while this request's task runs (see running_task).
                flight.is_async = True
                flight.loop = loop = get_running_loop()
                flight.task = running_task(loop)
            else:
                flight.cpu0 = time.thread_time()
            if decision.reason is not None:
                flight.start_full(decision.memory, self.settings.memory_max_s)
                if isinstance(flight.memory_error, MemoryBusyError):
                    self.stats.incr("memory.busy")  # expected under concurrency: counted only
                elif flight.memory_error is not None:
                    self.stats.incr("memory.unavailable")
                    self.stats.failure("starting memray", flight.memory_error)
            else:
                flight.start_at = flight.started + self._watch_after_s  # the hub samples from then
            # On its own thread, a request is registered under the thread's id: the
            # hub's registry is also how current_flight() finds it. Otherwise (on
            # an event loop; a second recorder on the same request, from nested
            # middlewares) under the flight's id(), never the flight itself: a
            # flight whose .key is itself is a reference cycle, and every flight
            # waited for the cyclic GC (~1.8 k CPU instructions per request in
            # collections, callgrind). A live flight's address is no live thread's.
            if is_async:
                key = id(flight)
                flight._token = CURRENT.set(flight)
            else:
                key = flight.thread_id
                previous = hub.target_of(key)
                if previous is not None:
                    # The thread's previous request: still running around this one
                    # (nested middlewares), or handed to a server or test client
                    # that never ended it, which end_if_left() ends now, on the
                    # thread that started its profilers.
                    end_if_left = getattr(previous, "end_if_left", None)
                    if end_if_left is None or not end_if_left() or hub.target_of(key):
                        key = id(flight)
            flight.key = key
            hub.add(flight, key)
            if sdk_state.active:
                flight.otel = current_span_link()
            return flight
        except Exception as error:
            self.stats.failure("starting a capture", error)
            return None

    # -- request end ---------------------------------------------------------

    def finish(
        self,
        flight: InFlight,
        status: int | None,
        route: RouteOf = None,
        route_source: Any = None,
        error: bool = False,
        left: bool = False,
    ) -> None:
        """End a request.

        ``route`` may be a resolver, called with ``route_source`` (the scope,
        the environ, the request) only if the capture is kept: most requests
        never need their route template. ``left``: its server or test client
        moved on without saying when the response was done, so how long it
        took is unknown; a watched request is then not judged slow.
        """
        if flight.finished:
            return
        if flight.decision.reason is None and time.perf_counter() - flight.started < self._slow_s:
            # The common case, kept short: a watched request that was fast. No
            # profiler runs for it, so any thread may end it.
            flight.finished = True
            if flight.otel is not None:
                flight.otel.release()
            # _forget() written out: a sync request, the common case, makes one call.
            hub.remove(flight.key)
            if flight._token is not None:
                self._leave_context(flight)
            return
        if left and flight.decision.reason is None:
            flight.finished = True
            if flight.otel is not None:
                flight.otel.release()
            self._forget(flight)
            return
        if flight.loop is not None and flight.thread_id != threading.get_ident():
            self._finish_from_other_thread(flight, status, route, route_source, error)
            return
        flight.finished = True
        try:
            self._finish(flight, status, route, route_source, error)
        except Exception as failure:
            self.stats.failure("finishing a capture", failure)
            if flight.otel is not None:
                flight.otel.release()
            if flight.tracker is not None:
                flight.tracker.discard()  # no memray file left behind
        finally:
            self._forget(flight)

    def _finish_from_other_thread(
        self, flight: InFlight, status: int | None, route: RouteOf, route_source: Any, error: bool
    ) -> None:
        """Ended from a worker thread (Django consuming a sync streaming body).

        Profilers must be stopped on the thread that started them, and after
        this thread's own profile has been handed back. (A method of its own:
        its closure would make every call of ``finish()`` create cells.)
        """
        loop = flight.loop

        def finish_on_loop() -> None:
            try:
                loop.call_soon_threadsafe(
                    functools.partial(self.finish, flight, status, route, route_source, error=error)
                )
            except RuntimeError:  # the loop is closed: nothing left to stop it on
                self.stats.incr("dropped.loop_closed")

        if threading.get_ident() in flight.active_hops:
            flight.pending_finish = finish_on_loop
        else:
            finish_on_loop()

    def _finish(
        self, flight: InFlight, status: int | None, route: RouteOf, route_source: Any, error: bool
    ) -> None:
        session, records, foreign = flight.stop()
        wall_s = time.perf_counter() - flight.started
        started_at = time.time() - wall_s
        cpu_end = 0.0 if flight.is_async or flight.decision.reason is None else time.thread_time()
        reason: KeepReason | None = flight.decision.reason
        if reason is None and self.policy.keep_slow(wall_s):
            reason = "slow"
            cpu_end = 0.0 if flight.is_async else time.thread_time()
        if reason is None:
            if flight.otel is not None:
                flight.otel.release()
            return
        thread_cpu_s = cpu_end - flight.cpu0 if not flight.is_async else 0.0
        if callable(route):
            try:
                route = route(route_source)
            except Exception as failure:
                self.stats.failure("resolving the route", failure)
                route = None
        rss_end = read_rss()
        self._catch_server_spans()
        if flight.otel is None and sdk_state.active:
            flight.otel = current_span_link()
        link = flight.otel
        trace_id, span_id = link.ids if link is not None else current_trace_ids()
        extra: dict[str, Any] = {
            "framework": self.framework,
            "async": flight.is_async,
            "gc_collections": flight.gc.collections if flight.gc else 0,
            "gc_s": flight.gc.seconds if flight.gc else 0.0,
            "rss_start": flight.rss0,
            "rss_end": rss_end,
            "rss_delta": (rss_end - flight.rss0) if rss_end and flight.rss0 else None,
            "foreign_samples": foreign,
            "threadpool_cpu_s": flight.hop_cpu_s,
        }
        # Written out rather than merged from literals: this runs for every kept request.
        if flight.query:
            extra["query"] = flight.query
        if flight.memory_error:
            extra["memory_error"] = str(flight.memory_error)
        if flight.tracker is not None and flight.tracker.expired:
            extra["memory_stopped_after_s"] = self.settings.memory_max_s
        if error:
            extra["error"] = True
        if reason == "slow" and flight.watching_began is not None:
            extra["sampling_began_ms"] = (flight.watching_began - flight.started) * 1000
        facts: dict[str, Any] = {
            "started_at": started_at,
            "wall_s": wall_s,
            "thread_cpu_s": thread_cpu_s,
            "reason": reason,
            "method": flight.method,
            "route": route,
            "path": flight.path,
            "status": status if status is not None else (500 if error else None),
            "trace_id": trace_id,
            "span_id": span_id,
            "extra": extra,
        }
        tracker_path = flight.tracker.path if flight.tracker is not None else None
        hop_sessions = list(flight.sessions)

        def build() -> Capture | None:
            try:
                capture = self.assembler.build(facts, session, records, hop_sessions, tracker_path)
                return self.assembler.link(capture, link)
            finally:
                if link is not None:
                    link.release()  # no-op when linked; else the span ends unlinked

        if not self.writer.submit(build):
            if flight.tracker is not None:
                flight.tracker.discard()
            if link is not None:
                link.release()

    def _forget(self, flight: InFlight) -> None:
        """The request is over: out of the hub's registry, and no longer current."""
        hub.remove(flight.key)
        if flight._token is not None:
            self._leave_context(flight)

    @staticmethod
    def _leave_context(flight: InFlight) -> None:
        """An async request is no longer the current one of its context."""
        token, flight._token = flight._token, None
        try:  # noqa: SIM105 - contextlib.suppress costs a microsecond on every request
            CURRENT.reset(token)  # type: ignore[arg-type]
        except ValueError:
            pass  # finished from another context (an ASGI send in a child task)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait for queued captures to reach the store (tests, shutdown hooks)."""
        return self.writer.flush(timeout)
