"""Real OTLP trace receivers on loopback, for tests and benchmarks of span exports.

Each receiver decodes what exporters send into plain :class:`ReceivedSpan`
records that tests can assert on, with no collector to install::

    from profiler_kit.testing.otlp_receiver import OtlpHttpReceiver

    with OtlpHttpReceiver() as receiver:
        export_to(receiver.endpoint)  # http://127.0.0.1:PORT (POST /v1/traces)
        spans = receiver.wait_for_spans(3, timeout=10)

:class:`OtlpGrpcReceiver` does the same over gRPC. Either can be told to
reject every request, or every request from the Nth on: the HTTP receiver
with an HTTP status (400, 503, ...), the gRPC one with a status code
(``INVALID_ARGUMENT``, ``UNAVAILABLE``, ...). Rejected requests are counted
but their spans are not kept.

A testing aid, never imported by profiler-kit itself. It needs the
OpenTelemetry protobuf classes (installed with the OTLP exporters);
:class:`OtlpGrpcReceiver` also needs ``grpcio``, imported only when one is
made, so the HTTP receiver works without it.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypeAlias

from google.protobuf.message import DecodeError  # type: ignore[import-untyped,unused-ignore]
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = [
    "AttributeValue",
    "OtlpGrpcReceiver",
    "OtlpHttpReceiver",
    "ReceivedSpan",
    "decode_any_value",
]

AttributeValue: TypeAlias = (
    "str | bool | int | float | bytes | list[AttributeValue] | dict[str, AttributeValue] | None"
)
TRACES_PATH = "/v1/traces"
_PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as a receiver decoded it. Ids are lowercase hex; no parent is ``""``."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str  # "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER" or "UNSPECIFIED"
    start_ns: int
    end_ns: int
    attributes: dict[str, AttributeValue]
    resource: dict[str, AttributeValue]  # attributes of the span's resource
    scope: str  # name of the instrumentation scope

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


def decode_any_value(value: AnyValue) -> AttributeValue:
    """An OTLP ``AnyValue`` as the Python value it carries (``None`` when empty)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [decode_any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    decoded: AttributeValue = getattr(value, which)
    return decoded


def _attributes(pairs: Sequence[KeyValue]) -> dict[str, AttributeValue]:
    return {pair.key: decode_any_value(pair.value) for pair in pairs}


def _kind(kind: int) -> str:
    return str(Span.SpanKind.Name(kind)).removeprefix("SPAN_KIND_")


def decode_request(request: trace_service_pb2.ExportTraceServiceRequest) -> list[ReceivedSpan]:
    """The spans of one export request, in the order they were sent."""
    spans: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        name=span.name,
                        kind=_kind(span.kind),
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        attributes=_attributes(span.attributes),
                        resource=dict(resource),
                        scope=scope_spans.scope.name,
                    )
                )
    return spans


class _Receiver:
    """What both receivers share: the spans, the request count and the failure setting."""

    def __init__(self, *, keep_spans: bool) -> None:
        self.keep_spans = keep_spans
        self._changed = threading.Condition()
        self._spans: list[ReceivedSpan] = []
        self._span_count = 0
        self._requests = 0
        self._batches: list[int] = []
        self._headers: list[dict[str, str]] = []
        self._fail_from: int | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _fail_setting(self, fail_from: int | None) -> None:
        if fail_from is not None and fail_from < 1:
            raise ValueError(f"fail_from counts requests from 1, not {fail_from}")
        self._fail_from = fail_from

    def _arrived(self, headers: Mapping[str, str]) -> bool:
        """Counts a request; whether it is to be accepted."""
        with self._changed:
            self._requests += 1
            self._headers.append({key.lower(): value for key, value in headers.items()})
            accepted = self._fail_from is None or self._requests < self._fail_from
            self._changed.notify_all()
            return accepted

    def _accept(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        if self.keep_spans:
            spans = decode_request(request)
            count = len(spans)
        else:
            count = sum(
                len(scope.spans)
                for resource in request.resource_spans
                for scope in resource.scope_spans
            )
        with self._changed:
            if self.keep_spans:
                self._spans.extend(spans)
            self._span_count += count
            self._batches.append(count)
            self._changed.notify_all()

    @property
    def spans(self) -> list[ReceivedSpan]:
        """Spans of the accepted requests so far, in arrival order (empty unless ``keep_spans``)."""
        with self._changed:
            return list(self._spans)

    @property
    def span_count(self) -> int:
        """Number of spans in the accepted requests so far."""
        with self._changed:
            return self._span_count

    @property
    def requests(self) -> int:
        """Number of export requests received, rejected ones included."""
        with self._changed:
            return self._requests

    @property
    def batches(self) -> list[int]:
        """Number of spans in each accepted request, in arrival order."""
        with self._changed:
            return list(self._batches)

    @property
    def headers(self) -> list[dict[str, str]]:
        """Headers (gRPC: metadata) of every request received, names lowercased."""
        with self._changed:
            return [dict(headers) for headers in self._headers]

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> list[ReceivedSpan]:
        """Wait until ``count`` spans were accepted; returns the kept spans even on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._span_count < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(self._spans)

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> int:
        """Wait until ``count`` requests arrived; returns how many did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._requests < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self._requests


class OtlpHttpReceiver(_Receiver):
    """OTLP/HTTP with protobuf bodies: ``POST {endpoint}/v1/traces``, gzip or deflate or plain.

    ``fail_status`` answers every request from the ``fail_from``-th on (1: all
    of them) with that HTTP status instead of accepting it.
    """

    def __init__(
        self, *, fail_status: int | None = None, fail_from: int = 1, keep_spans: bool = True
    ) -> None:
        super().__init__(keep_spans=keep_spans)
        self.fail_status = fail_status
        self._fail_setting(fail_from if fail_status is not None else None)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.traces_url = self.endpoint + TRACES_PATH
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"otlp-http-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def _handle(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        """Status and protobuf body of the answer to one POST."""
        if path.split("?", 1)[0] != TRACES_PATH:
            return 404, b""
        if not self._arrived(headers):
            assert self.fail_status is not None
            return self.fail_status, _status_body(self.fail_status)
        encoding = headers.get("content-encoding", "").lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        except (OSError, EOFError, zlib.error, DecodeError):
            return 400, _status_body(400)
        self._accept(request)
        return 200, trace_service_pb2.ExportTraceServiceResponse().SerializeToString()


def _status_body(status: int) -> bytes:
    """A ``google.rpc.Status`` body (code 2, UNKNOWN, and a message), as OTLP/HTTP asks of errors.

    Encoded by hand: field 1 is the varint code, field 2 the message string.
    """
    message = f"rejected by the test receiver with HTTP {status}".encode()
    assert len(message) < 128  # its length fits one varint byte
    return bytes([0x08, 2, 0x12, len(message)]) + message


def _make_handler(receiver: OtlpHttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as exporters' sessions expect

        def do_POST(self) -> None:  # the name http.server calls
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, answer = receiver._handle(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Type", _PROTOBUF)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests read their own output

    return Handler


class OtlpGrpcReceiver(_Receiver):
    """OTLP/gRPC: the ``TraceService/Export`` method on ``127.0.0.1:PORT``, without TLS.

    ``fail_code`` (a :class:`grpc.StatusCode`, e.g. ``grpc.StatusCode.UNAVAILABLE``)
    aborts every call from the ``fail_from``-th on (1: all of them).
    """

    def __init__(
        self, *, fail_code: Any = None, fail_from: int = 1, keep_spans: bool = True
    ) -> None:
        super().__init__(keep_spans=keep_spans)
        self.fail_code = fail_code
        self._fail_setting(fail_from if fail_code is not None else None)
        import grpc  # type: ignore[import-untyped,unused-ignore]
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        self._server: Any = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        add_servicer = trace_service_pb2_grpc.add_TraceServiceServicer_to_server
        add_servicer(_servicer_for(self), self._server)  # type: ignore[no-untyped-call,unused-ignore]
        self.port = int(self._server.add_insecure_port("127.0.0.1:0"))
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._started = False

    def start(self) -> Self:
        if not self._started:
            self._server.start()
            self._started = True
        return self

    def stop(self) -> None:
        self._server.stop(grace=None).wait()
        self._started = False


def _servicer_for(receiver: OtlpGrpcReceiver) -> Any:
    """The gRPC servicer that hands every Export call to ``receiver``.

    Defined on first use: its base class comes from the gRPC stubs.
    """
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    class Servicer(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc,unused-ignore]
        def Export(  # the generated method name
            self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
        ) -> trace_service_pb2.ExportTraceServiceResponse:
            metadata = {str(key): str(value) for key, value in context.invocation_metadata()}
            if not receiver._arrived(metadata):
                context.abort(receiver.fail_code, "rejected by the test receiver")
            receiver._accept(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    return Servicer()
