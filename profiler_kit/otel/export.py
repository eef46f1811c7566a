"""Captures as OTLP spans, sent through the OpenTelemetry SDK's own exporters.

Each capture becomes a request span plus the derived frame spans of
:mod:`profiler_kit.otel.derive`. A capture recorded under a trace joins it
(child of the request's server span); one recorded without a trace gets a
trace of its own. Span and trace ids are derived from the capture id, so
exporting the same capture twice yields the same ids, which lets a backend
deduplicate.

The SDK exporters read the standard ``OTEL_EXPORTER_OTLP_*`` settings; they
retry and log by themselves. Their log lines are collected here so that a
failed export ends in one clear error saying how much was sent.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

from profiler_kit import __version__
from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.errors import ProfilerKitError
from profiler_kit.otel.derive import (
    capture_attributes,
    derive_frame_spans,
    request_span_name,
)
from profiler_kit.store.record import Capture

__all__ = [
    "ExportFailedError",
    "ExportProgress",
    "Protocol",
    "capture_spans",
    "export_spans",
    "make_exporter",
]

Protocol = Literal["http/protobuf", "grpc"]
SCOPE = InstrumentationScope("profiler_kit", __version__)
_EXPORTER_LOGGERS = ("opentelemetry.exporter.otlp", "opentelemetry.sdk")


class ExportFailedError(ProfilerKitError):
    """The endpoint was unreachable or refused a batch (exit status 1)."""

    exit_code = 1


def _id_bits(text: str, size: int) -> int:
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:size], "big")
    return value or 1  # all-zero ids are invalid in OpenTelemetry


def _hex_id(text: str | None, digits: int) -> int | None:
    """A stored trace or span id, or None when missing or not valid hex of that length."""
    if not text or len(text) != digits:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return value or None


def capture_spans(
    view: CaptureView,
    *,
    min_share: float,
    min_frame_ms: float,
    resource: Resource,
) -> list[ReadableSpan]:
    """The request span and its derived frame spans for one capture, request span first."""
    capture = view.capture
    original_trace = _hex_id(capture.trace_id, 32)
    original_span = _hex_id(capture.span_id, 16)
    parent: SpanContext | None = None
    if original_trace is not None:
        trace_id = original_trace
        if original_span is not None:
            parent = SpanContext(trace_id, original_span, is_remote=True)
    else:  # no trace, or a damaged one: a trace of its own
        trace_id = _id_bits(f"trace:{capture.id}", 16)
    flags = TraceFlags(TraceFlags.SAMPLED)
    start_ns = int(capture.started_at * 1e9)
    end_ns = start_ns + max(int(capture.wall_s * 1e9), 1)
    request_context = SpanContext(trace_id, _id_bits(f"span:{capture.id}", 8), False, flags)
    spans = [
        ReadableSpan(
            request_span_name(capture),
            context=request_context,
            parent=parent,
            resource=resource,
            attributes=capture_attributes(capture, view.tree),
            kind=SpanKind.INTERNAL,
            start_time=start_ns,
            end_time=end_ns,
            instrumentation_scope=SCOPE,
        )
    ]
    contexts = [request_context]
    derived = derive_frame_spans(
        view.tree, start_ns, end_ns, min_share=min_share, min_frame_ms=min_frame_ms
    )
    for index, span in enumerate(derived):
        context = SpanContext(trace_id, _id_bits(f"span:{capture.id}/{index}", 8), False, flags)
        contexts.append(context)
        spans.append(
            ReadableSpan(
                span.name,
                context=context,
                parent=contexts[span.parent + 1],
                resource=resource,
                attributes=span.attributes,
                kind=SpanKind.INTERNAL,
                start_time=span.start_ns,
                end_time=span.end_ns,
                instrumentation_scope=SCOPE,
            )
        )
    return spans


class Resources:
    """One :class:`Resource` per service, host and process, shared by its spans.

    ``OTEL_SERVICE_NAME`` (and ``OTEL_RESOURCE_ATTRIBUTES``) win over what the
    capture recorded, as they do for any OpenTelemetry-instrumented program.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, int], Resource] = {}
        self._service_from_env = bool(os.environ.get("OTEL_SERVICE_NAME"))

    def for_capture(self, capture: Capture) -> Resource:
        key = (capture.service, capture.host, capture.pid)
        resource = self._cache.get(key)
        if resource is None:
            attributes: dict[str, Any] = {"host.name": capture.host, "process.pid": capture.pid}
            if not self._service_from_env:
                attributes["service.name"] = capture.service
            resource = self._cache[key] = Resource.create(attributes)
        return resource


def make_exporter(
    protocol: Protocol | None, endpoint: str | None, timeout: float | None
) -> tuple[SpanExporter, str]:
    """The SDK's OTLP span exporter, and the endpoint it will send to (for messages)."""
    if protocol is None:
        chosen = (
            os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "http/protobuf"
        )
        if chosen not in ("http/protobuf", "grpc"):
            raise ProfilerKitError(
                f"OTLP protocol {chosen!r} is not supported: use http/protobuf or grpc"
            )
        protocol = "grpc" if chosen == "grpc" else "http/protobuf"
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        grpc_exporter = GrpcExporter(
            endpoint=endpoint,
            insecure=endpoint.startswith("http://") if endpoint else None,
            timeout=timeout,
        )
        shown = endpoint or _env_endpoint() or "http://localhost:4317"
        return grpc_exporter, shown
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    if endpoint is not None and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    http_exporter = HttpExporter(endpoint=endpoint, timeout=timeout)
    return http_exporter, str(getattr(http_exporter, "_endpoint", endpoint or ""))


def _env_endpoint() -> str | None:
    return os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )


@dataclass
class ExportProgress:
    captures: int = 0
    spans: int = 0
    batches: int = 0


class _Collector(logging.Handler):
    """Keeps the exporters' log lines for the error message instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # a malformed log call must not end the export
            self.messages.append(str(record.msg))


def export_spans(
    exporter: SpanExporter,
    capture_batches: Iterable[Sequence[ReadableSpan]],
    *,
    batch_size: int,
    endpoint: str,
    total_captures: int | None = None,
    on_batch: Callable[[ExportProgress], None] | None = None,
) -> ExportProgress:
    """Send spans in batches of about ``batch_size``; one capture's spans stay in one batch.

    ``capture_batches`` yields the spans of one capture at a time. Raises
    :class:`ExportFailedError` at the first refused batch, saying how much
    had been sent.
    """
    progress = ExportProgress()
    collector = _Collector()
    loggers = [logging.getLogger(name) for name in _EXPORTER_LOGGERS]
    saved = [(lg.handlers[:], lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.handlers, lg.propagate = [collector], False
    try:
        for batch, captures in _batches(capture_batches, batch_size):
            try:
                result = exporter.export(batch)
            except Exception as error:  # exporters should not raise; some do on bad endpoints
                collector.messages.append(f"{type(error).__name__}: {error}")
                result = SpanExportResult.FAILURE
            if result is not SpanExportResult.SUCCESS:
                reason = _failure_reason(collector.messages)
                of_total = f" of {total_captures}" if total_captures is not None else ""
                raise ExportFailedError(
                    f"export to {endpoint} failed: {reason.strip()}; sent {progress.spans} "
                    f"spans ({progress.captures}{of_total} captures) before it"
                )
            progress.captures += captures
            progress.spans += len(batch)
            progress.batches += 1
            if on_batch is not None:
                on_batch(progress)
    finally:
        for lg, (handlers, propagate) in zip(loggers, saved, strict=True):
            lg.handlers, lg.propagate = handlers, propagate
        exporter.shutdown()
    return progress


def _failure_reason(messages: Sequence[str]) -> str:
    """The most telling of the exporter's log lines: the cause, not "gave up retrying"."""
    if not messages:
        return "the batch was refused"
    reason = messages[-1]
    if "max retries" in reason and len(messages) > 1:
        reason = messages[0]
    reason = re.sub(r",? retrying in [0-9.]+s\.?", "", reason).strip()
    if "Connection refused" in reason or "failed to connect" in reason:
        reason += " (is an OTLP receiver listening there?)"
    return reason


def _batches(
    capture_batches: Iterable[Sequence[ReadableSpan]], batch_size: int
) -> Iterator[tuple[list[ReadableSpan], int]]:
    batch: list[ReadableSpan] = []
    captures = 0
    for spans in capture_batches:
        if batch and len(batch) + len(spans) > batch_size:
            yield batch, captures
            batch, captures = [], 0
        batch.extend(spans)
        captures += 1
    if batch:
        yield batch, captures
