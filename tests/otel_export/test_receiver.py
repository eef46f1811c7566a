"""The loopback OTLP receivers of profiler_kit.testing.otlp_receiver, fed by the SDK itself."""

from __future__ import annotations

import gzip
import time
import urllib.error
import urllib.request
from typing import Any

import grpc  # type: ignore[import-untyped,unused-ignore]
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind

from profiler_kit.testing.otlp_receiver import OtlpGrpcReceiver, OtlpHttpReceiver, ReceivedSpan


def emit_two_spans(exporter: SpanExporter) -> tuple[str, str, str]:
    """A SERVER span and its child, exported one request each; (trace, parent, child) ids."""
    provider = TracerProvider(resource=Resource.create({"service.name": "svc", "replicas": 3}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scope-x")
    attributes: dict[str, Any] = {"list": [1, 2], "flag": True, "ratio": 1.5, "word": "ü"}
    with (
        tracer.start_as_current_span("parent", kind=SpanKind.SERVER, attributes=attributes) as p,
        tracer.start_as_current_span("child") as c,
    ):
        ids = (
            f"{p.get_span_context().trace_id:032x}",
            f"{p.get_span_context().span_id:016x}",
            f"{c.get_span_context().span_id:016x}",
        )
    provider.shutdown()
    return ids


def check_two_spans(spans: list[ReceivedSpan], ids: tuple[str, str, str]) -> None:
    trace_id, parent_id, child_id = ids
    by_name = {span.name: span for span in spans}
    assert set(by_name) == {"parent", "child"}
    parent, child = by_name["parent"], by_name["child"]
    assert (parent.trace_id, parent.span_id, parent.parent_span_id) == (trace_id, parent_id, "")
    assert (child.trace_id, child.span_id, child.parent_span_id) == (trace_id, child_id, parent_id)
    assert (parent.kind, child.kind) == ("SERVER", "INTERNAL")
    assert parent.attributes == {"list": [1, 2], "flag": True, "ratio": 1.5, "word": "ü"}
    assert parent.start_ns <= child.start_ns <= child.end_ns <= parent.end_ns
    assert parent.resource["service.name"] == "svc" and parent.resource["replicas"] == 3
    assert parent.scope == "scope-x"


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read()
    except urllib.error.HTTPError as error:
        with error:  # an unclosed HTTPError is a ResourceWarning when collected (3.14)
            return error.code, error.headers["Content-Type"], error.read()


def test_http_receiver_decodes_gzip_exports(otlp_http_receiver: OtlpHttpReceiver) -> None:
    exporter = HttpExporter(
        endpoint=otlp_http_receiver.traces_url,
        compression=Compression.Gzip,
        headers={"x-team": "perf"},
    )
    ids = emit_two_spans(exporter)
    check_two_spans(otlp_http_receiver.wait_for_spans(2, timeout=5), ids)
    assert otlp_http_receiver.requests == 2
    assert otlp_http_receiver.batches == [1, 1]
    assert otlp_http_receiver.headers[0]["content-encoding"] == "gzip"
    assert otlp_http_receiver.headers[0]["x-team"] == "perf"


def test_http_receiver_answers_like_a_collector(otlp_http_receiver: OtlpHttpReceiver) -> None:
    """A protobuf ExportTraceServiceResponse; 400 for a body that is not one; 404 elsewhere."""
    empty = trace_service_pb2.ExportTraceServiceRequest().SerializeToString()
    protobuf = {"Content-Type": "application/x-protobuf"}
    status, content_type, body = post(otlp_http_receiver.traces_url, empty, protobuf)
    assert (status, content_type) == (200, "application/x-protobuf")
    trace_service_pb2.ExportTraceServiceResponse.FromString(body)
    zipped = {**protobuf, "Content-Encoding": "gzip"}
    assert post(otlp_http_receiver.traces_url, gzip.compress(empty), zipped)[0] == 200
    assert post(otlp_http_receiver.traces_url, b"\xff\xff not protobuf", protobuf)[0] == 400
    assert post(otlp_http_receiver.endpoint + "/v1/logs", empty, protobuf)[0] == 404
    assert otlp_http_receiver.span_count == 0


@pytest.mark.parametrize(
    "otlp_http_receiver", [{"fail_status": 400, "fail_from": 2}], indirect=True
)
def test_http_receiver_fails_from_the_nth_request(otlp_http_receiver: OtlpHttpReceiver) -> None:
    ids = emit_two_spans(HttpExporter(endpoint=otlp_http_receiver.traces_url, timeout=2))
    assert otlp_http_receiver.wait_for_requests(2, timeout=5) == 2
    spans = otlp_http_receiver.spans
    assert [span.name for span in spans] == ["child"]  # ended first, sent first, accepted
    assert spans[0].span_id == ids[2]
    empty = trace_service_pb2.ExportTraceServiceRequest().SerializeToString()
    status, content_type, _ = post(otlp_http_receiver.traces_url, empty)
    assert (status, content_type) == (400, "application/x-protobuf")
    assert otlp_http_receiver.requests == 3


def test_grpc_receiver_decodes_exports(otlp_grpc_receiver: OtlpGrpcReceiver) -> None:
    exporter = GrpcExporter(
        endpoint=otlp_grpc_receiver.endpoint, insecure=True, headers={"x-k": "v"}
    )
    ids = emit_two_spans(exporter)
    check_two_spans(otlp_grpc_receiver.wait_for_spans(2, timeout=5), ids)
    assert otlp_grpc_receiver.requests == 2
    assert otlp_grpc_receiver.headers[0]["x-k"] == "v"


@pytest.mark.parametrize(
    "otlp_grpc_receiver",
    [{"fail_code": grpc.StatusCode.INVALID_ARGUMENT, "fail_from": 2}],
    indirect=True,
)
def test_grpc_receiver_aborts_from_the_nth_call(otlp_grpc_receiver: OtlpGrpcReceiver) -> None:
    exporter = GrpcExporter(endpoint=otlp_grpc_receiver.endpoint, insecure=True, timeout=2)
    emit_two_spans(exporter)
    assert otlp_grpc_receiver.wait_for_requests(2, timeout=5) == 2
    assert [span.name for span in otlp_grpc_receiver.spans] == ["child"]


def test_wait_for_spans_gives_up_at_the_timeout(otlp_http_receiver: OtlpHttpReceiver) -> None:
    started = time.monotonic()
    assert otlp_http_receiver.wait_for_spans(1, timeout=0.2) == []
    assert 0.2 <= time.monotonic() - started < 2


def test_counting_only() -> None:
    """keep_spans=False counts spans without keeping them (for benchmarks)."""
    with OtlpHttpReceiver(keep_spans=False) as receiver:
        emit_two_spans(HttpExporter(endpoint=receiver.traces_url))
        receiver.wait_for_spans(2, timeout=5)
        assert (receiver.span_count, receiver.spans) == (2, [])
