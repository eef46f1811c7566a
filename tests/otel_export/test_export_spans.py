"""``profiler-kit export otlp``: the spans a real receiver gets, over HTTP and over gRPC.

Each capture becomes one request span plus child spans derived from its CPU
profile (one per call-tree node above --min-share and --min-frame-ms). The
tests check what /tmp/pk/otel_spec.md promises: names, kinds, parents, ids,
timing inside the parent, attributes and resources, joining an existing trace,
the OTEL_* environment variables, and batching.
"""

from __future__ import annotations

import itertools
import os
import sysconfig
from typing import Any

import pytest

from profiler_kit.testing import cpu_blob, frame_string
from profiler_kit.testing.otlp_receiver import OtlpGrpcReceiver, OtlpHttpReceiver, ReceivedSpan

Receiver = OtlpHttpReceiver | OtlpGrpcReceiver

# Float seconds since the epoch carry ~0.2 µs of precision: compare times to 1 µs.
NS_TOLERANCE = 1_000
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"


@pytest.fixture(params=["http", "grpc"])
def receiver(request: pytest.FixtureRequest) -> Receiver:
    """A loopback receiver of each protocol in turn."""
    found = request.getfixturevalue(f"otlp_{request.param}_receiver")
    assert isinstance(found, OtlpHttpReceiver | OtlpGrpcReceiver)
    return found


def received(receiver: Receiver, count: int) -> list[ReceivedSpan]:
    """The ``count`` spans the receiver must hold by now, exactly."""
    spans = receiver.wait_for_spans(count, timeout=5)
    assert len(spans) == count, f"receiver holds {len(spans)} spans, the summary said {count}"
    return spans


def exported(otlp_cli: Any, receiver: Receiver, *args: str, **kwargs: Any) -> Any:
    """Export to ``receiver``; check the summary line against what the receiver got."""
    run = otlp_cli.export(receiver, *args, **kwargs)
    captures, spans, endpoint = run.summary()
    assert f"127.0.0.1:{receiver.port}" in endpoint, run.stderr
    return otlp_cli.span_set(received(receiver, spans)), captures


def assert_is_hex(value: str, digits: int) -> None:
    assert len(value) == digits and int(value, 16) != 0, value
    assert value == value.lower(), value


def assert_well_formed(spans: Any, derived: str) -> None:
    """What holds of every export: ids, kinds, one trace per tree, children inside parents."""
    assert len(spans.by_id) == len(spans.spans), "span ids repeat within one export"
    for span in spans.spans:
        assert_is_hex(span.trace_id, 32)
        assert_is_hex(span.span_id, 16)
        assert span.kind == "INTERNAL", span
        assert span.start_ns <= span.end_ns, span
    for child in spans.children:
        assert child.attributes[derived] is True, child
        assert child.parent_span_id in spans.by_id, f"parent of {child.name} is not exported"
        parent = spans.by_id[child.parent_span_id]
        assert child.trace_id == parent.trace_id, (child, parent)
        assert parent.start_ns <= child.start_ns <= child.end_ns <= parent.end_ns, (
            f"{child.name} [{child.start_ns}, {child.end_ns}] is not inside its parent "
            f"{parent.name} [{parent.start_ns}, {parent.end_ns}]"
        )
        assert child.name == child.attributes["code.function"], child
        assert isinstance(child.attributes["code.filepath"], str), child
        assert isinstance(child.attributes["code.lineno"], int), child
        share = child.attributes["profiler_kit.share"]
        assert isinstance(share, float) and 0.0 <= share <= 1.0, child
        self_ms = child.attributes["profiler_kit.self_time_ms"]
        assert isinstance(self_ms, int | float) and self_ms >= 0, child
    # Siblings are laid end to end: they do not overlap.
    by_parent: dict[str, list[ReceivedSpan]] = {}
    for child in spans.children:
        by_parent.setdefault(child.parent_span_id, []).append(child)
    for siblings in by_parent.values():
        ordered = sorted(siblings, key=lambda s: (s.start_ns, s.end_ns))
        for before, after in itertools.pairwise(ordered):
            assert before.end_ns <= after.start_ns, f"{before.name} overlaps {after.name}"
    # Every child descends from a request span.
    reached = {span.span_id for root in spans.requests for span in spans.descendants(root)}
    assert reached == {child.span_id for child in spans.children}, "orphan child spans"


# -- a real script capture -------------------------------------------------------------


def test_script_capture_request_span_and_hot_child(
    otlp_cli: Any, hot_run: Any, receiver: Receiver
) -> None:
    """A real run exports as 'run hot_script.py' with burn_cpu_hotspot as a derived child."""
    spans, captures = exported(otlp_cli, receiver, store=hot_run.store)
    capture = hot_run.capture
    assert captures == 1
    assert_well_formed(spans, otlp_cli.DERIVED)
    assert len(spans.requests) == 1, [s.name for s in spans.requests]
    request = spans.request_of(capture.id)
    assert request.name == "run hot_script.py"
    assert request.parent_span_id == "", "a capture without trace context starts a trace"
    assert abs(request.start_ns - capture.started_at * 1e9) <= NS_TOLERANCE, (
        request.start_ns,
        capture.started_at,
    )
    assert abs(request.duration_ns - capture.wall_s * 1e9) <= NS_TOLERANCE, (
        request.duration_ns,
        capture.wall_s,
    )
    attributes = request.attributes
    assert attributes["profiler_kit.reason"] == "script"
    assert attributes["profiler_kit.cpu_time_ms"] == pytest.approx(capture.cpu_s * 1000, abs=1e-3)
    assert isinstance(attributes["profiler_kit.gc_time_ms"], float)
    assert "profiler_kit.memory.peak_bytes" not in attributes
    assert not any(key.startswith(("http.", "url.")) for key in attributes), attributes
    assert attributes["code.function"] == "burn_cpu_hotspot"
    assert str(attributes["code.filepath"]).endswith("hot_script.py")
    assert attributes["code.lineno"] == 4

    hot = [span for span in spans.children if span.name == "burn_cpu_hotspot"]
    assert len(hot) == 1, [span.name for span in spans.children]
    assert hot[0].attributes["code.function"] == "burn_cpu_hotspot"
    assert str(hot[0].attributes["code.filepath"]).endswith("hot_script.py")
    assert hot[0].attributes["code.lineno"] == 4
    assert hot[0].attributes[otlp_cli.DERIVED] is True
    assert hot[0].trace_id == request.trace_id
    assert float(hot[0].attributes["profiler_kit.share"]) > 0.5
    assert "light_cpu_helper" in {span.name for span in spans.children}
    assert spans.descendants(request) == spans.children


def test_resource_of_a_script_capture(otlp_cli: Any, hot_run: Any, receiver: Receiver) -> None:
    """Without OTEL_SERVICE_NAME the resource names the capture's service, host and pid."""
    spans, _ = exported(otlp_cli, receiver, store=hot_run.store)
    for span in spans.spans:
        assert span.resource["service.name"] == hot_run.capture.service, span.resource
        assert span.resource["host.name"] == hot_run.capture.host, span.resource
        assert span.resource["process.pid"] == hot_run.capture.pid, span.resource


# -- captures with a known profile --------------------------------------------------------


def test_request_span_of_a_request_capture(otlp_cli: Any, receiver: Receiver) -> None:
    """Name 'GET /orders/{id}', http.* and profiler_kit.* attributes, the hottest function."""
    (capture,) = otlp_cli.known_captures(1)
    spans, captures = exported(otlp_cli, receiver)
    assert captures == 1
    assert_well_formed(spans, otlp_cli.DERIVED)
    request = spans.request_of(capture.id)
    assert request.name == "GET /orders/{id}"
    assert request.kind == "INTERNAL"
    assert request.parent_span_id == ""
    assert abs(request.start_ns - capture.started_at * 1e9) <= NS_TOLERANCE
    assert abs(request.duration_ns - 200_000_000) <= NS_TOLERANCE
    expected: dict[str, object] = {
        "profiler_kit.capture_id": capture.id,
        "profiler_kit.reason": "slow",
        "http.request.method": "GET",
        "http.route": "/orders/{id}",
        "url.path": "/orders/17",
        "http.response.status_code": 200,
        "code.function": "load_orders",
        "code.filepath": "/app/db.py",
        "code.lineno": 20,
    }
    assert {key: request.attributes.get(key) for key in expected} == expected
    assert request.attributes["profiler_kit.cpu_time_ms"] == pytest.approx(90.0)
    assert request.attributes["profiler_kit.gc_time_ms"] == pytest.approx(4.0)
    assert "profiler_kit.memory.peak_bytes" not in request.attributes


def test_child_spans_of_a_known_profile(otlp_cli: Any, receiver: Receiver) -> None:
    """One child per node above 5 %: parents, shares, self times, durations scaled to wall time."""
    (capture,) = otlp_cli.known_captures(1)
    spans, _ = exported(otlp_cli, receiver)
    request = spans.request_of(capture.id)
    assert {span.name for span in spans.children} == otlp_cli.KNOWN_DEFAULT_CHILDREN
    assert len(spans.children) == len(otlp_cli.KNOWN_DEFAULT_CHILDREN)
    scale = request.duration_ns / otlp_cli.KNOWN_TOTAL_S  # ns of span per profiled second
    for span in spans.children:
        total_s, self_s, parent = otlp_cli.KNOWN_NODES[span.name]
        assert spans.parent_name(span) == parent, span.name
        if parent is None:
            assert span.parent_span_id == request.span_id
        assert span.trace_id == request.trace_id
        assert span.attributes["profiler_kit.share"] == pytest.approx(
            total_s / otlp_cli.KNOWN_TOTAL_S, abs=1e-6
        ), span.name
        assert span.attributes["profiler_kit.self_time_ms"] == pytest.approx(
            self_s * 1000, abs=1e-3
        ), span.name
        assert abs(span.duration_ns - total_s * scale) <= NS_TOLERANCE, (
            span.name,
            span.duration_ns,
            total_s * scale,
        )
    handle = next(span for span in spans.children if span.name == "handle_request")
    assert handle.start_ns == request.start_ns, "children start at the parent's start"
    assert handle.attributes["code.filepath"] == "/app/views.py"
    assert handle.attributes["code.lineno"] == 10


@pytest.mark.parametrize(
    ("options", "children"),
    [
        ((), {"handle_request", "load_orders", "decode_rows", "render_page"}),
        (("--min-share", "0.5"), {"handle_request", "load_orders"}),
        (("--min-share", "0.18"), {"handle_request", "load_orders", "decode_rows"}),
        (("--min-frame-ms", "50"), {"handle_request", "load_orders"}),
        (("--min-frame-ms", "18"), {"handle_request", "load_orders", "decode_rows"}),
        (
            ("--min-share", "0", "--min-frame-ms", "10"),
            {"handle_request", "load_orders", "decode_rows", "render_page"},
        ),
        (
            ("--min-share", "0", "--min-frame-ms", "0.5"),
            {"handle_request", "load_orders", "decode_rows", "render_page", "log_line"},
        ),
    ],
    ids=["defaults", "share-0.5", "share-0.18", "frame-50ms", "frame-18ms", "frame-10ms", "all"],
)
def test_thresholds_choose_the_child_spans(
    otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver, options: tuple[str, ...], children: Any
) -> None:
    """--min-share (of the profile total) and --min-frame-ms drop the small nodes.

    The spec compares a node's *total time* with --min-frame-ms: its profiled
    total (decode_rows: 20 ms, render_page: 15 ms), before the 100 ms profile
    is stretched onto the 200 ms wall time. Only "frame-18ms" tells the two
    readings apart (stretched, render_page would last 30 ms and stay).
    """
    otlp_cli.known_captures(1)
    spans, _ = exported(otlp_cli, otlp_http_receiver, *options)
    assert {span.name for span in spans.children} == children
    assert len(spans.children) == len(children)
    assert len(spans.requests) == 1
    assert_well_formed(spans, otlp_cli.DERIVED)


def test_memory_capture_has_peak_bytes(otlp_cli: Any, receiver: Receiver) -> None:
    """profiler_kit.memory.peak_bytes only on captures with memory profiling."""
    with_memory, without = otlp_cli.add(
        otlp_cli.known_capture(peak_memory=52_428_800, allocated_bytes=80_000_000, allocations=9),
        otlp_cli.known_capture(),
    )
    spans, _ = exported(otlp_cli, receiver)
    assert spans.request_of(with_memory.id).attributes["profiler_kit.memory.peak_bytes"] == (
        52_428_800
    )
    assert "profiler_kit.memory.peak_bytes" not in spans.request_of(without.id).attributes


def test_request_name_without_route_uses_the_path(
    otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver
) -> None:
    """A request with no route template is named after its path."""
    (capture,) = otlp_cli.add(otlp_cli.known_capture(method="POST", route=None, path="/raw/x"))
    spans, _ = exported(otlp_cli, otlp_http_receiver)
    request = spans.request_of(capture.id)
    assert request.name == "POST /raw/x"
    assert request.attributes["url.path"] == "/raw/x"
    assert "http.route" not in request.attributes


def test_capture_with_trace_context_joins_that_trace(otlp_cli: Any, receiver: Receiver) -> None:
    """trace_id/span_id of the server span: the request span is its child, in its trace."""
    joined, alone = otlp_cli.add(
        otlp_cli.known_capture(trace_id=TRACE_ID, span_id=PARENT_SPAN_ID),
        otlp_cli.known_capture(),
    )
    spans, _ = exported(otlp_cli, receiver)
    assert_well_formed(spans, otlp_cli.DERIVED)
    request = spans.request_of(joined.id)
    assert request.trace_id == TRACE_ID
    assert request.parent_span_id == PARENT_SPAN_ID
    assert request.span_id != PARENT_SPAN_ID
    family = spans.descendants(request)
    assert {span.name for span in family} == otlp_cli.KNOWN_DEFAULT_CHILDREN
    assert all(span.trace_id == TRACE_ID for span in family)
    other = spans.request_of(alone.id)
    assert other.trace_id != TRACE_ID
    assert other.parent_span_id == ""
    assert all(span.trace_id == other.trace_id for span in spans.descendants(other))


def test_every_capture_is_its_own_trace(otlp_cli: Any, receiver: Receiver) -> None:
    """Three captures: three request spans, three trace ids, each with its own children."""
    captures = otlp_cli.known_captures(3)
    spans, count = exported(otlp_cli, receiver)
    assert count == 3
    assert_well_formed(spans, otlp_cli.DERIVED)
    assert len(spans.spans) == 3 * (1 + len(otlp_cli.KNOWN_DEFAULT_CHILDREN))
    requests = [spans.request_of(capture.id) for capture in captures]
    assert len({request.trace_id for request in requests}) == 3
    for request in requests:
        family = spans.descendants(request)
        assert {span.name for span in family} == otlp_cli.KNOWN_DEFAULT_CHILDREN


def test_ids_are_deterministic(otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver) -> None:
    """Exporting the same captures twice sends the same trace and span ids (deduplicable)."""
    otlp_cli.known_captures(2)
    otlp_cli.known_captures(1, trace_id=TRACE_ID, span_id=PARENT_SPAN_ID)
    first, _ = exported(otlp_cli, otlp_http_receiver)
    run = otlp_cli.export(otlp_http_receiver)
    _, count, _ = run.summary()
    both = received(otlp_http_receiver, len(first.spans) + count)
    second = both[len(first.spans) :]

    def key(span: ReceivedSpan) -> tuple[str, str, str, str, int, int]:
        return (span.trace_id, span.span_id, span.parent_span_id, span.name, span.start_ns,
                span.end_ns)  # fmt: skip

    assert sorted(map(key, second)) == sorted(map(key, first.spans))


def test_capture_option_exports_one_capture(otlp_cli: Any, receiver: Receiver) -> None:
    """--capture ID exports only that capture."""
    captures = otlp_cli.known_captures(3)
    spans, count = exported(otlp_cli, receiver, "--capture", captures[1].id)
    assert count == 1
    assert [s.attributes["profiler_kit.capture_id"] for s in spans.requests] == [captures[1].id]
    assert len(spans.spans) == 1 + len(otlp_cli.KNOWN_DEFAULT_CHILDREN)


def test_route_selection(otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver) -> None:
    """--route PATTERN exports only matching captures."""
    orders = otlp_cli.known_captures(2)
    otlp_cli.known_captures(3, route="/cart", path="/cart")
    spans, count = exported(otlp_cli, otlp_http_receiver, "--route", "/orders/*")
    assert count == 2
    assert {s.attributes["profiler_kit.capture_id"] for s in spans.requests} == {
        c.id for c in orders
    }


def test_hottest_function_charges_library_time_to_the_app_caller(
    otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver
) -> None:
    """code.* of the request span: the application function where most time went.

    ``view`` (app) spends 80 ms inside json's ``dumps`` (standard library) and
    calls ``compute`` (app, 30 ms of self time). Time in library code counts
    for the application function that called it, the code a reader can
    change: ``view`` (80 ms) beats ``compute`` (30 ms).
    """
    stdlib = os.path.join(sysconfig.get_paths()["stdlib"], "json", "encoder.py")
    view = frame_string("view", "/app/views.py", 1)
    profile = cpu_blob(
        [
            ([view, frame_string("dumps", stdlib, 10)], 0.080),
            ([view, frame_string("compute", "/app/views.py", 20)], 0.030),
        ]
    )
    (capture,) = otlp_cli.add(otlp_cli.known_capture(cpu_profile=profile))
    spans, _ = exported(otlp_cli, otlp_http_receiver)
    request = spans.request_of(capture.id)
    code = {key: value for key, value in request.attributes.items() if key.startswith("code.")}
    assert code == {
        "code.function": "view",
        "code.filepath": "/app/views.py",
        "code.lineno": 1,
    }


def test_malformed_trace_context_is_no_traceback(
    otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver
) -> None:
    """A stored trace_id/span_id that is not hex (a foreign or damaged store) ends no export."""
    good, _bad = otlp_cli.add(
        otlp_cli.known_capture(),
        otlp_cli.known_capture(trace_id="not-hex-at-all", span_id="zz"),
    )
    spans, _ = exported(otlp_cli, otlp_http_receiver)
    assert_well_formed(spans, otlp_cli.DERIVED)
    assert spans.request_of(good.id).parent_span_id == ""


# -- environment ---------------------------------------------------------------------------


def test_otel_service_name_sets_the_resource(otlp_cli: Any, receiver: Receiver) -> None:
    """OTEL_SERVICE_NAME overrides the captures' services in every resource."""
    otlp_cli.known_captures(1)
    otlp_cli.known_captures(1, service="billing")
    spans, _ = exported(otlp_cli, receiver, env={"OTEL_SERVICE_NAME": "checkout-svc"})
    assert {span.resource["service.name"] for span in spans.spans} == {"checkout-svc"}


def test_resource_per_capture_service(otlp_cli: Any, receiver: Receiver) -> None:
    """Without OTEL_SERVICE_NAME each span's resource carries its capture's service/host/pid."""
    shop, billing = otlp_cli.add(
        otlp_cli.known_capture(),
        otlp_cli.known_capture(service="billing", host="web-9", pid=99),
    )
    spans, _ = exported(otlp_cli, receiver)
    for capture in (shop, billing):
        request = spans.request_of(capture.id)
        for span in [request, *spans.descendants(request)]:
            assert span.resource["service.name"] == capture.service, span
            assert span.resource["host.name"] == capture.host, span
            assert span.resource["process.pid"] == capture.pid, span


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_standard_endpoint_variables(
    otlp_cli: Any, request: pytest.FixtureRequest, protocol: str
) -> None:
    """Without --endpoint/--protocol, OTEL_EXPORTER_OTLP_ENDPOINT and _PROTOCOL apply."""
    receiver = request.getfixturevalue(f"otlp_{protocol}_receiver")
    otlp_cli.known_captures(2)
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf" if protocol == "http" else "grpc",
    }
    run = otlp_cli.export(None, env=env)
    count, span_count, endpoint = run.summary()
    assert count == 2
    assert f"127.0.0.1:{receiver.port}" in endpoint, run.stderr
    spans = otlp_cli.span_set(received(receiver, span_count))
    assert len(spans.requests) == 2
    assert_well_formed(spans, otlp_cli.DERIVED)


def test_standard_traces_endpoint_variable(
    otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver
) -> None:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the full URL (/v1/traces included) and wins."""
    otlp_cli.known_captures(1)
    env = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": otlp_http_receiver.traces_url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp_cli.closed_port()}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }
    run = otlp_cli.export(None, env=env)
    _, span_count, _ = run.summary()
    assert len(received(otlp_http_receiver, span_count)) == 1 + len(otlp_cli.KNOWN_DEFAULT_CHILDREN)


def test_standard_headers_variable(otlp_cli: Any, receiver: Receiver) -> None:
    """OTEL_EXPORTER_OTLP_HEADERS reach the receiver (e.g. an API key)."""
    otlp_cli.known_captures(1)
    exported(otlp_cli, receiver, env={"OTEL_EXPORTER_OTLP_HEADERS": "x-team=perf,x-api-key=s3"})
    assert receiver.headers, "no request"
    for headers in receiver.headers:
        assert headers.get("x-team") == "perf", headers
        assert headers.get("x-api-key") == "s3", headers


def test_standard_compression_variable(otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver) -> None:
    """OTEL_EXPORTER_OTLP_COMPRESSION=gzip: gzip bodies, decoded by the receiver all the same."""
    otlp_cli.known_captures(2)
    spans, _ = exported(
        otlp_cli, otlp_http_receiver, env={"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}
    )
    assert len(spans.requests) == 2
    assert {h.get("content-encoding") for h in otlp_http_receiver.headers} == {"gzip"}


def test_endpoint_with_the_traces_path(otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver) -> None:
    """--endpoint http://H:P/v1/traces is used as given, not doubled."""
    otlp_cli.known_captures(1)
    run = otlp_cli("export", "otlp", otlp_cli.store, "--endpoint", otlp_http_receiver.traces_url,
                   "--protocol", "http/protobuf")  # fmt: skip
    assert run.returncode == 0, otlp_cli.explain(run.result)
    _, span_count, _ = run.summary()
    assert len(received(otlp_http_receiver, span_count)) == span_count > 0


# -- batches ---------------------------------------------------------------------------------


def test_batches(otlp_cli: Any, receiver: Receiver) -> None:
    """--batch-size 2 with 5 captures: several requests, every span received exactly once."""
    captures = otlp_cli.known_captures(5)
    spans, count = exported(otlp_cli, receiver, "--batch-size", "2")
    assert count == 5
    assert receiver.requests >= 3, receiver.batches
    assert len(spans.spans) == 5 * (1 + len(otlp_cli.KNOWN_DEFAULT_CHILDREN))
    assert len(spans.by_id) == len(spans.spans), "a span was sent twice"
    assert {s.attributes["profiler_kit.capture_id"] for s in spans.requests} == {
        c.id for c in captures
    }
    assert_well_formed(spans, otlp_cli.DERIVED)
