"""``profiler-kit export otlp`` when things go wrong: a message, an exit status, no traceback.

Exit 1 when the endpoint is unreachable or rejects a batch, with a message
saying how much was sent before the failure ("sent 0 of 12 spans (0 of 3
captures)"); exit 2 for usage errors and an empty selection. ``--timeout 2``
keeps the exporters' retries short: every failing export must end well
within the bound asserted here.
"""

from __future__ import annotations

from typing import Any

import grpc  # type: ignore[import-untyped,unused-ignore]
import pytest

from profiler_kit.testing.otlp_receiver import OtlpGrpcReceiver, OtlpHttpReceiver

CAPTURES = 3
QUICK = ("--timeout", "2")
BOUND_S = 30.0  # a failing export with --timeout 2 ends well within this


def spans_per_capture(otlp_cli: Any) -> int:
    return 1 + len(otlp_cli.KNOWN_DEFAULT_CHILDREN)


def assert_failed_cleanly(otlp_cli: Any, run: Any, *, status: int) -> None:
    assert run.returncode == status, otlp_cli.explain(run.result, f"expected exit {status}")
    assert "error" in run.stderr.lower(), otlp_cli.explain(run.result, "no error message")
    assert "No such command" not in run.stderr, otlp_cli.explain(run.result, "no export otlp")
    assert run.seconds < BOUND_S, f"took {run.seconds:.1f} s"


def assert_sent_nothing(otlp_cli: Any, run: Any) -> None:
    assert_failed_cleanly(otlp_cli, run, status=1)
    sent_spans, total, sent_captures, captures = run.sent()
    assert (sent_spans, sent_captures, captures) == (0, 0, CAPTURES), otlp_cli.explain(run.result)
    assert total in (None, CAPTURES * spans_per_capture(otlp_cli)), run.stderr


# -- unreachable or rejecting endpoints: exit 1 ----------------------------------------


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_unreachable_endpoint(otlp_cli: Any, protocol: str) -> None:
    """A closed loopback port: exit 1 within the timeout, 'sent 0 of N spans (0 of K captures)'."""
    otlp_cli.known_captures(CAPTURES)
    endpoint = f"http://127.0.0.1:{otlp_cli.closed_port()}"
    run = otlp_cli.export(
        None, "--endpoint", endpoint, "--protocol", protocol, *QUICK, check_rc=None
    )
    assert_sent_nothing(otlp_cli, run)


@pytest.mark.parametrize(
    "otlp_http_receiver", [{"fail_status": 400}, {"fail_status": 503}], indirect=True
)
def test_http_receiver_rejects(otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver) -> None:
    """400 (not retried) and 503 (retried until --timeout): exit 1 and nothing counted as sent."""
    otlp_cli.known_captures(CAPTURES)
    run = otlp_cli.export(otlp_http_receiver, *QUICK, check_rc=None)
    assert_sent_nothing(otlp_cli, run)
    assert otlp_http_receiver.requests >= 1, "the receiver was never asked"


@pytest.mark.parametrize(
    "otlp_grpc_receiver",
    [{"fail_code": grpc.StatusCode.INVALID_ARGUMENT}, {"fail_code": grpc.StatusCode.UNAVAILABLE}],
    indirect=True,
    ids=["INVALID_ARGUMENT", "UNAVAILABLE"],
)
def test_grpc_receiver_rejects(otlp_cli: Any, otlp_grpc_receiver: OtlpGrpcReceiver) -> None:
    """INVALID_ARGUMENT (not retried) and UNAVAILABLE (retried): exit 1 with the message."""
    otlp_cli.known_captures(CAPTURES)
    run = otlp_cli.export(otlp_grpc_receiver, *QUICK, check_rc=None)
    assert_sent_nothing(otlp_cli, run)
    assert otlp_grpc_receiver.requests >= 1, "the receiver was never asked"


def check_partial(otlp_cli: Any, run: Any, receiver: Any) -> None:
    """The message counts exactly the spans of the batches the receiver accepted."""
    assert_failed_cleanly(otlp_cli, run, status=1)
    sent_spans, total, sent_captures, captures = run.sent()
    assert receiver.batches, "the first batch was not accepted"
    assert sent_spans == receiver.span_count > 0, (otlp_cli.explain(run.result), receiver.batches)
    assert total in (None, 5 * spans_per_capture(otlp_cli)), run.stderr
    assert captures == 5, run.stderr
    assert sent_spans < 5 * spans_per_capture(otlp_cli), run.stderr
    assert 0 <= sent_captures < captures, run.stderr
    # Captures counted as sent have all their spans sent.
    assert sent_captures * spans_per_capture(otlp_cli) <= sent_spans, run.stderr


@pytest.mark.parametrize(
    "otlp_http_receiver", [{"fail_status": 400, "fail_from": 2}], indirect=True
)
def test_http_failure_after_the_first_batch(
    otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver
) -> None:
    """A receiver that accepts the first batch only: the message says those spans were sent."""
    otlp_cli.known_captures(5)
    run = otlp_cli.export(otlp_http_receiver, "--batch-size", "2", *QUICK, check_rc=None)
    check_partial(otlp_cli, run, otlp_http_receiver)


@pytest.mark.parametrize(
    "otlp_grpc_receiver",
    [{"fail_code": grpc.StatusCode.INVALID_ARGUMENT, "fail_from": 2}],
    indirect=True,
)
def test_grpc_failure_after_the_first_batch(
    otlp_cli: Any, otlp_grpc_receiver: OtlpGrpcReceiver
) -> None:
    """Same over gRPC: the first batch's spans are reported as sent."""
    otlp_cli.known_captures(5)
    run = otlp_cli.export(otlp_grpc_receiver, "--batch-size", "2", *QUICK, check_rc=None)
    check_partial(otlp_cli, run, otlp_grpc_receiver)


@pytest.mark.parametrize("otlp_http_receiver", [{"fail_status": 400}], indirect=True)
def test_failure_message_counts_what_was_sent(
    otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver
) -> None:
    """The message says what was sent out of how many captures, and the server's answer.

    Spans are derived one capture at a time while sending, so the total of
    captures is known up front and the total of spans is not.
    """
    otlp_cli.known_captures(CAPTURES)
    run = otlp_cli.export(otlp_http_receiver, *QUICK, check_rc=None)
    assert_failed_cleanly(otlp_cli, run, status=1)
    assert f"sent 0 spans (0 of {CAPTURES} captures)" in run.stderr, run.stderr
    assert "400" in run.stderr, run.stderr


# -- usage errors and empty selections: exit 2 -------------------------------------------


def test_empty_selection(otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver) -> None:
    """A selection that matches no capture: exit 2, nothing sent."""
    otlp_cli.known_captures(2)
    run = otlp_cli.export(otlp_http_receiver, "--route", "/no-such-route", check_rc=None)
    assert_failed_cleanly(otlp_cli, run, status=2)
    assert "capture" in run.stderr.lower(), run.stderr
    assert otlp_http_receiver.requests == 0


def test_empty_store(otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver) -> None:
    """A store with no capture at all: exit 2, nothing sent."""
    otlp_cli.add()  # creates the store, adds nothing
    assert otlp_cli.store.exists()
    run = otlp_cli.export(otlp_http_receiver, check_rc=None)
    assert_failed_cleanly(otlp_cli, run, status=2)
    assert "capture" in run.stderr.lower(), run.stderr
    assert otlp_http_receiver.requests == 0


def test_unknown_capture_id(otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver) -> None:
    """--capture with an id the store does not hold: exit 2 naming it, nothing sent."""
    otlp_cli.known_captures(1)
    missing = "01ZZZZZZZZZZZZZZZZZZZZZZZZ"
    run = otlp_cli.export(otlp_http_receiver, "--capture", missing, check_rc=None)
    assert_failed_cleanly(otlp_cli, run, status=2)
    assert missing in run.stderr
    assert otlp_http_receiver.requests == 0


def test_missing_store(otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver) -> None:
    """A store file that does not exist: exit 2 naming it, and it is not created."""
    missing = otlp_cli.cwd / "nowhere.sqlite3"
    run = otlp_cli.export(otlp_http_receiver, store=missing, check_rc=None)
    assert_failed_cleanly(otlp_cli, run, status=2)
    assert "nowhere.sqlite3" in run.stderr
    assert not missing.exists()
    assert otlp_http_receiver.requests == 0


def test_unknown_protocol(otlp_cli: Any) -> None:
    """--protocol must be http/protobuf or grpc: a usage error, exit 2."""
    otlp_cli.known_captures(1)
    run = otlp_cli("export", "otlp", otlp_cli.store, "--protocol", "carrier-pigeon")
    assert run.returncode == 2, otlp_cli.explain(run.result)
    assert "carrier-pigeon" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "option",
    [("--batch-size", "0"), ("--min-share", "-0.1"), ("--timeout", "nope")],
    ids=["batch-size-0", "negative-share", "timeout-not-a-number"],
)
def test_bad_option_values(
    otlp_cli: Any, otlp_http_receiver: OtlpHttpReceiver, option: tuple[str, str]
) -> None:
    """Nonsense option values are usage errors: exit 2 naming the option, nothing sent."""
    otlp_cli.known_captures(1)
    run = otlp_cli.export(otlp_http_receiver, *option, check_rc=None)
    assert run.returncode == 2, otlp_cli.explain(run.result)
    assert option[0] in run.stderr, run.stderr
    assert otlp_http_receiver.requests == 0
