"""Live mode: a capture's derived spans go straight into the app's own TracerProvider.

For teams whose traces are the place they look: the frames that made a
request slow appear under its server span moments after it ends, through
whatever exporter the app already configured, with no ``export`` step. Runs
on the background writer, never on the request.
"""

from __future__ import annotations

from typing import Any

from profiler_kit import __version__
from profiler_kit.analysis.calltree import CallTree
from profiler_kit.otel.derive import (
    capture_attributes,
    derive_frame_spans,
    request_span_name,
)
from profiler_kit.store.record import Capture

__all__ = ["emit_live_spans"]


def emit_live_spans(
    capture: Capture,
    tree: CallTree,
    *,
    min_share: float,
    min_frame_ms: float,
    within: tuple[int | None, int | None] = (None, None),
) -> int:
    """Emit the derived spans; returns how many spans were started.

    Under the request's server span when the capture has one; otherwise
    under a request span of their own, so they still read as one request.
    ``within`` is the server span's start and end: the capture starts a
    little before a span opened inside the app (Flask's) and ends a little
    after one closed by the ASGI send, and children must lie inside their
    parent.
    """
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

    tracer = trace.get_tracer("profiler_kit", __version__)
    start_ns = int(capture.started_at * 1e9)
    end_ns = start_ns + max(int(capture.wall_s * 1e9), 1)
    span_start, span_end = within
    if span_start is not None and span_start < end_ns:
        start_ns = max(start_ns, span_start)
    if span_end is not None and span_end > start_ns:
        end_ns = min(end_ns, span_end)
    emitted = 0
    if capture.trace_id and capture.span_id:
        server = NonRecordingSpan(
            SpanContext(
                int(capture.trace_id, 16),
                int(capture.span_id, 16),
                is_remote=False,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
        )
        root_context: Any = trace.set_span_in_context(server)
    else:
        request = tracer.start_span(
            request_span_name(capture),
            context=trace.set_span_in_context(trace.INVALID_SPAN),
            kind=SpanKind.INTERNAL,
            attributes=capture_attributes(capture, tree),
            start_time=start_ns,
        )
        request.end(end_time=end_ns)
        emitted += 1
        root_context = trace.set_span_in_context(request)
    contexts: list[Any] = []
    for derived in derive_frame_spans(
        tree, start_ns, end_ns, min_share=min_share, min_frame_ms=min_frame_ms
    ):
        parent = root_context if derived.parent < 0 else contexts[derived.parent]
        span = tracer.start_span(
            derived.name,
            context=parent,
            kind=SpanKind.INTERNAL,
            attributes=derived.attributes,
            start_time=derived.start_ns,
        )
        span.end(end_time=derived.end_ns)
        contexts.append(trace.set_span_in_context(span))
        emitted += 1
    return emitted
