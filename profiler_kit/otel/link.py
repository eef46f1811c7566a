"""A captured request's server span learns its capture, whichever middleware is outermost.

Two orders happen in practice:

* OpenTelemetry outside profiler-kit (FastAPI's ``instrument_app``,
  Django's instrumentor): the server span is current when the capture ends.
* OpenTelemetry inside (Flask's instrumentor opens its span in
  ``before_request``; an ASGI middleware added after ours): the span starts
  within the request, and may end before the capture does. A span
  processor notices server spans that start while a request is in flight.

Either way the span's attributes can only be set before it ends, and the
capture's hottest function, CPU time and peak memory are known only once the
background writer has built it. So profiler-kit holds the span's ``end()``:
the span ends with the timestamp it was ended at, but is handed to the
exporters only after the attributes are set. Every path (capture kept,
dropped, not kept, failed) releases it; at worst a span ends without
profiler-kit's attributes, never late by more than the capture's build.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "SpanLink",
    "current_span_link",
    "current_trace_ids",
    "install_span_catcher",
    "sdk_state",
    "trace_api",
]


class SpanLink:
    """A server span whose ``end()`` waits until the capture's attributes are set."""

    __slots__ = ("_end", "_ended_at", "_lock", "_released", "span")

    def __init__(self, span: Any) -> None:
        self.span = span
        self._lock = threading.Lock()
        self._ended_at: int | None = None
        self._released = False
        self._end = span.end
        span.end = self._held_end

    def bounds(self) -> tuple[int | None, int | None]:
        """The span's start and (held) end in ns since the epoch, where known."""
        start = getattr(self.span, "start_time", None)
        return (start if isinstance(start, int) else None), self._ended_at

    @property
    def ids(self) -> tuple[str, str]:
        context = self.span.get_span_context()
        return format(context.trace_id, "032x"), format(context.span_id, "016x")

    def _held_end(self, end_time: int | None = None) -> None:
        with self._lock:
            if not self._released:
                if self._ended_at is None:
                    self._ended_at = end_time if end_time is not None else time.time_ns()
                return
        self._end(end_time)

    def release(self, attributes: dict[str, Any] | None = None) -> None:
        """Set ``attributes`` (if the span is still open to them), then let it end."""
        with self._lock:
            if self._released:
                return
            self._released = True
            ended_at = self._ended_at
        try:
            if attributes:
                # The span has not really ended yet, so the SDK still takes attributes.
                self.span.set_attributes(attributes)
        finally:
            with contextlib.suppress(AttributeError):
                del self.span.end  # back to the class's own end()
            if ended_at is not None:
                self._end(ended_at)


class _SdkState:
    """Whether an SDK TracerProvider is configured: only then is a span worth looking for."""

    def __init__(self) -> None:
        # An instance attribute: Python 3.11 cannot specialise reading a class
        # attribute through an instance, and every watched request reads it.
        self.active = False


sdk_state = _SdkState()


_UNSET: Any = object()
_trace: Any = _UNSET


def trace_api() -> Any:
    """``opentelemetry.trace``, or ``None`` when OpenTelemetry is not installed.

    Imported once: an import statement in a function costs a microsecond or
    two on every call, and these are called for every kept capture.
    """
    global _trace
    if _trace is _UNSET:
        try:
            from opentelemetry import trace as api
        except ImportError:
            api = None  # type: ignore[assignment]
        _trace = api
    return _trace


def current_trace_ids() -> tuple[str | None, str | None]:
    """Trace and span id of the current span (any provider's), hex, or ``None``s."""
    trace = trace_api()
    if trace is None:
        return None, None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def current_span_link() -> SpanLink | None:
    """The current span, held, if it is a recording SDK span (OpenTelemetry outside us).

    Taken when the request starts: OpenTelemetry's ASGI middleware ends its
    server span as the last body chunk goes out, before our own end of the
    request, so looking only at the end would find it already closed.
    """
    trace = trace_api()
    if trace is None:
        return None
    span = trace.get_current_span()
    if not span.is_recording() or not hasattr(span, "set_attributes"):
        return None
    return SpanLink(span)


_installed_on: list[Any] = []
_last_seen: list[Any] = [None]  # the provider the last call looked at
_install_lock = threading.Lock()


def install_span_catcher(current_flight: Callable[[], Any]) -> None:
    """Add the span processor to the global SDK TracerProvider, once per provider.

    Called when a recorder starts and again when a capture is kept, so a
    TracerProvider configured after the middleware is picked up too.
    """
    trace = trace_api()
    if trace is None:
        return
    # The global provider as set_tracer_provider() left it: None when none is
    # set (nothing to install into). get_tracer_provider() would read
    # os.environ on every call while none is set, and this runs per capture.
    provider = getattr(trace, "_TRACER_PROVIDER", _UNSET)
    if provider is _UNSET:  # an API without that global: ask it
        provider = trace.get_tracer_provider()
    if provider is None or provider is _last_seen[0]:
        return  # the common case: looked at already, installed or not an SDK's
    _last_seen[0] = provider
    try:
        from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    except ImportError:
        return
    if not isinstance(provider, TracerProvider) or any(p is provider for p in _installed_on):
        return
    from opentelemetry.trace import SpanKind

    class ServerSpanCatcher(SpanProcessor):
        """Holds server spans started while a request is in flight (OpenTelemetry inside us)."""

        def on_start(self, span: Any, parent_context: Any = None) -> None:
            if span.kind is not SpanKind.SERVER:
                return
            flight = current_flight()
            if flight is not None and flight.otel is None:
                try:
                    flight.otel = SpanLink(span)
                except Exception:  # a span type we cannot hold: leave it alone
                    return

    with _install_lock:
        if any(p is provider for p in _installed_on):
            return
        provider.add_span_processor(ServerSpanCatcher())
        _installed_on.append(provider)
        sdk_state.active = True
