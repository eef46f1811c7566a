"""Putting a kept request's capture together on the writer thread.

Stacks start at the app's first frame (the server's frames and our own
middleware above it say nothing about the app), a worker-thread excursion is
marked as one, and an async request's CPU time is what its own samples saw
on the CPU: the loop thread's clock also ran for every other request.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from pyinstrument.frame import AWAIT_FRAME_IDENTIFIER, OUT_OF_CONTEXT_FRAME_IDENTIFIER

from profiler_kit import plugins
from profiler_kit.capture.cpu import decode_profile, session_from_records
from profiler_kit.config import Settings
from profiler_kit.store.ids import capture_id_time
from profiler_kit.store.record import Capture
from profiler_kit.testing import frame_string
from profiler_kit.web import assembly
from profiler_kit.web.assembly import CaptureAssembler, Records
from profiler_kit.web.counters import Stats
from profiler_kit.web.engines import THREADPOOL_FRAME

WEB_DIR = os.path.dirname(assembly.__file__)
ASYNCIO_DIR = os.path.dirname(asyncio.__file__)

SERVER = frame_string("run", "/srv/lib/site-packages/uvicorn/server.py", 60)
MIDDLEWARE = frame_string("__call__", os.path.join(WEB_DIR, "asgi.py"), 40)
PLUGIN = frame_string("dispatch", os.path.join(plugins.__path__[0], "fastapi.py"), 30)
FRAMEWORK = frame_string("handle", "/srv/lib/site-packages/starlette/routing.py", 70)
VIEW = frame_string("checkout_view")
HELPER = frame_string("price_cart", line=20)
WORKER = frame_string("_worker", "/usr/lib/python3.11/concurrent/futures/thread.py", 80)
HOP = frame_string("_hop", os.path.join(WEB_DIR, "threadpool.py"), 28)
LOOP_SIDE_WRAPPER = frame_string("run_sync", os.path.join(WEB_DIR, "threadpool.py"), 74)
SYNC_WORK = frame_string("render_invoice", "/app/invoices.py", 5)
LOOP_RUN = frame_string("_run", os.path.join(ASYNCIO_DIR, "events.py"), 78)
TASK_STEP = frame_string("__step", os.path.join(ASYNCIO_DIR, "tasks.py"), 260)
CHILD_TASK = frame_string("stream_rows", "/app/export.py", 12)
AWAITING = [MIDDLEWARE, VIEW, AWAIT_FRAME_IDENTIFIER]
OUT_OF_CONTEXT = [MIDDLEWARE, VIEW, OUT_OF_CONTEXT_FRAME_IDENTIFIER]
STARTED_AT = 1_700_000_000.0


def _assembler(**changes: Any) -> CaptureAssembler:
    settings = Settings(service="shop", host="web-1").replace(**changes)
    return CaptureAssembler(settings, Stats(), "web-1")


def _facts(*, is_async: bool = False, **changes: Any) -> dict[str, Any]:
    extra = {
        "framework": "fastapi",
        "async": is_async,
        "threadpool_cpu_s": 0.0,
        "rss_start": 1000,
        "rss_end": None,
        "rss_delta": None,
        "foreign_samples": 0,
    }
    facts: dict[str, Any] = {
        "started_at": STARTED_AT,
        "wall_s": 0.25,
        "thread_cpu_s": 0.0,
        "reason": "sampled",
        "method": "POST",
        "route": "/checkout/{cart}",
        "path": "/checkout/41",
        "status": 201,
        "trace_id": None,
        "span_id": None,
        "extra": extra,
    }
    extra.update(changes.pop("extra", {}))
    facts.update(changes)
    return facts


def _build(
    records: Records | None = None,
    *,
    session_records: Records | None = None,
    hops: list[Records] | None = None,
    facts: dict[str, Any] | None = None,
) -> Capture:
    session = None
    if session_records is not None:
        session = session_from_records(
            session_records, start_time=STARTED_AT, duration=0.25, interval=0.001, cpu_time=0.0
        )
    hop_sessions = [
        session_from_records(hop, start_time=STARTED_AT, duration=0.1, interval=0.001, cpu_time=0.0)
        for hop in hops or []
    ]
    return _assembler().build(
        facts or _facts(), session, list(records or []), hop_sessions, tracker_path=None
    )


def _stacks(capture: Capture) -> list[tuple[list[str], float]]:
    assert capture.cpu_profile is not None
    profile = decode_profile(capture.cpu_profile)
    return [
        ([profile.frames[i] for i in profile.stacks[stack]], seconds)
        for stack, seconds in profile.samples
    ]


# -- trimming ------------------------------------------------------------------------


def test_server_and_middleware_frames_above_the_app_are_dropped() -> None:
    capture = _build([([SERVER, FRAMEWORK, MIDDLEWARE, VIEW, HELPER], 0.01)])
    assert _stacks(capture) == [([VIEW, HELPER], 0.01)]


def test_stacks_start_after_the_innermost_of_our_frames() -> None:
    """Nested middlewares: the app's own frames between two of ours are framework, not app."""
    capture = _build([([SERVER, MIDDLEWARE, FRAMEWORK, PLUGIN, VIEW], 0.01)])
    assert _stacks(capture) == [([VIEW], 0.01)]


def test_plugin_frames_count_as_our_own() -> None:
    capture = _build([([SERVER, PLUGIN, VIEW], 0.01)])
    assert _stacks(capture) == [([VIEW], 0.01)]


def test_samples_of_the_profiler_session_and_of_the_hub_are_both_trimmed_and_kept() -> None:
    capture = _build(
        [([SERVER, MIDDLEWARE, VIEW, HELPER], 0.003)],
        session_records=[([SERVER, MIDDLEWARE, VIEW], 0.002)],
    )
    assert sorted(_stacks(capture)) == [([VIEW], 0.002), ([VIEW, HELPER], 0.003)]


def test_a_child_task_of_the_request_loses_only_the_event_loop_frames() -> None:
    capture = _build([([LOOP_RUN, TASK_STEP, CHILD_TASK, HELPER], 0.01)])
    assert _stacks(capture) == [([CHILD_TASK, HELPER], 0.01)]


def test_a_stack_with_none_of_our_frames_and_no_event_loop_is_kept_whole() -> None:
    capture = _build([([FRAMEWORK, VIEW], 0.01)])
    assert _stacks(capture) == [([FRAMEWORK, VIEW], 0.01)]


def test_the_loop_side_of_a_threadpool_call_stays_inside_the_app_chain() -> None:
    capture = _build(
        [([SERVER, MIDDLEWARE, VIEW, LOOP_SIDE_WRAPPER, AWAIT_FRAME_IDENTIFIER], 0.01)]
    )
    assert _stacks(capture) == [([VIEW, LOOP_SIDE_WRAPPER, AWAIT_FRAME_IDENTIFIER], 0.01)]


# -- threadpool hops -------------------------------------------------------------------


def test_a_hop_stack_starts_with_the_threadpool_frame() -> None:
    capture = _build(hops=[[([WORKER, HOP, SYNC_WORK, HELPER], 0.02)]])
    assert _stacks(capture) == [([THREADPOOL_FRAME, SYNC_WORK, HELPER], 0.02)]


def test_a_hop_sample_outside_the_requests_function_is_dropped() -> None:
    capture = _build(
        [([SERVER, MIDDLEWARE, VIEW], 0.01)],
        hops=[[([WORKER, SYNC_WORK], 0.02), ([WORKER, HOP, SYNC_WORK], 0.03)]],
    )
    assert _stacks(capture) == [([VIEW], 0.01), ([THREADPOOL_FRAME, SYNC_WORK], 0.03)]


def test_a_helper_thread_sample_from_the_hub_is_marked_as_a_hop_too() -> None:
    capture = _build([([SERVER, MIDDLEWARE, VIEW], 0.01), ([WORKER, HOP, SYNC_WORK], 0.02)])
    assert _stacks(capture) == [([VIEW], 0.01), ([THREADPOOL_FRAME, SYNC_WORK], 0.02)]


# -- CPU time --------------------------------------------------------------------------


def test_async_cpu_time_counts_only_this_requests_on_cpu_samples() -> None:
    facts = _facts(is_async=True, thread_cpu_s=9.0, extra={"threadpool_cpu_s": 0.005})
    capture = _build(
        [([MIDDLEWARE, VIEW, HELPER], 0.004), (AWAITING, 0.1), (OUT_OF_CONTEXT, 0.2)],
        session_records=[([MIDDLEWARE, VIEW], 0.003)],
        hops=[[([WORKER, HOP, SYNC_WORK], 0.05)]],  # its CPU is threadpool_cpu_s
        facts=facts,
    )
    assert capture.cpu_s == pytest.approx(0.004 + 0.003 + 0.005)


def test_async_cpu_time_without_on_cpu_samples_is_the_threadpool_time() -> None:
    facts = _facts(is_async=True, extra={"threadpool_cpu_s": 0.0})
    capture = _build([(AWAITING, 0.3)], facts=facts)
    assert capture.cpu_s == 0.0


def test_sync_cpu_time_is_the_threads_clock_plus_the_threadpool() -> None:
    facts = _facts(thread_cpu_s=0.02, extra={"threadpool_cpu_s": 0.005})
    capture = _build([([MIDDLEWARE, VIEW], 0.5)], facts=facts)
    assert capture.cpu_s == pytest.approx(0.025)


# -- the capture's fields ----------------------------------------------------------------


def test_the_capture_carries_the_request_facts_and_the_process() -> None:
    facts = _facts(trace_id="ab" * 16, span_id="cd" * 8)
    capture = _build([([MIDDLEWARE, VIEW], 0.01)], facts=dict(facts))
    assert capture.kind == "request"
    assert (capture.service, capture.host, capture.pid) == ("shop", "web-1", os.getpid())
    assert capture.target == "POST /checkout/{cart}"
    assert (capture.method, capture.route, capture.path) == ("POST", "/checkout/{cart}",
                                                              "/checkout/41")  # fmt: skip
    assert (capture.reason, capture.status) == ("sampled", 201)
    # The id is made on the writer thread, from the request's start time.
    assert capture_id_time(capture.id) == pytest.approx(STARTED_AT, abs=0.001)
    assert (capture.started_at, capture.wall_s) == (STARTED_AT, 0.25)
    assert (capture.trace_id, capture.span_id) == ("ab" * 16, "cd" * 8)


def test_without_a_route_the_target_names_the_path() -> None:
    capture = _build([([MIDDLEWARE, VIEW], 0.01)], facts=_facts(route=None, method="GET"))
    assert capture.target == "GET /checkout/41"


def test_extra_keeps_only_known_values_and_not_the_thread_clock() -> None:
    capture = _build([([MIDDLEWARE, VIEW], 0.01)], facts=_facts(thread_cpu_s=0.01))
    assert capture.extra == {
        "framework": "fastapi",
        "async": False,
        "threadpool_cpu_s": 0.0,
        "rss_start": 1000,
        "foreign_samples": 0,
    }


def test_without_a_memory_tracker_there_are_no_memory_fields() -> None:
    capture = _build([([MIDDLEWARE, VIEW], 0.01)])
    assert capture.memory_profile is None
    assert (capture.peak_memory, capture.allocated_bytes, capture.allocations) == (None,) * 3


def test_the_cpu_profile_spans_the_request() -> None:
    capture = _build([([MIDDLEWARE, VIEW], 0.01)], facts=_facts(wall_s=0.4))
    assert capture.cpu_profile is not None
    meta = decode_profile(capture.cpu_profile).meta
    assert (meta["start_time"], meta["duration"]) == (STARTED_AT, 0.4)


def test_an_unreadable_memory_file_is_still_removed(tmp_path: Path) -> None:
    """No memray file is left behind, whatever reading it did."""
    tracker_dir = tmp_path / "memray-request"
    tracker_dir.mkdir()
    tracker_file = tracker_dir / "capture.bin"
    tracker_file.write_bytes(b"not a memray file")
    with pytest.raises(OSError, match="memray"):  # the writer counts it
        _assembler().build(_facts(), None, [([VIEW], 0.01)], [], tracker_path=tracker_file)
    assert not tracker_file.exists()
    assert not tracker_dir.exists()


def test_linking_with_spans_off_and_no_server_span_stores_the_capture_as_is() -> None:
    assembler = _assembler(otel_spans="off")
    capture = assembler.build(_facts(), None, [([VIEW], 0.01)], [], tracker_path=None)
    assert assembler.link(capture, None) is capture


def test_live_only_spans_are_emitted_but_not_stored() -> None:
    assembler = _assembler(otel_spans="live-only")
    capture = assembler.build(_facts(), None, [([VIEW], 0.01)], [], tracker_path=None)
    assert assembler.link(capture, None) is None
