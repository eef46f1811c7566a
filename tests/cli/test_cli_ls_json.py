"""``ls --json`` lists every field a capture's summary holds.

A script that goes from a capture to its trace, or sums GC time over a day of
captures, should not need a second query or the report.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from profiler_kit.store import CaptureSummary, open_store
from profiler_kit.store.record import Capture
from profiler_kit.testing import make_capture

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def _request_capture() -> Capture:
    return make_capture(
        host="web-1",
        wall_s=0.25,
        cpu_s=0.125,
        target="GET /items/{item_id}",
        route="/items/{item_id}",
        path="/items/42",
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        peak_memory=1_048_576,
        allocated_bytes=2_097_152,
        allocations=321,
        extra={
            "framework": "flask",
            "async": False,
            "gc_s": 0.0125,
            "gc_collections": 3,
            "rss_start": 50_000_000,
            "rss_end": 50_400_000,
            "rss_delta": 400_000,
            "threadpool_cpu_s": 0.0,
        },
    )


def test_ls_json_lists_every_summary_field(pk: Any) -> None:
    """Each column of the summary and each key of its ``extra`` is in the listing."""
    # GIVEN a store holding one request capture with trace ids, GC and RSS facts
    capture = _request_capture()
    with open_store(pk.store) as store:
        store.add(capture)
    # WHEN it is listed as JSON
    (listed,) = pk.ls_json()
    # THEN every summary column is there, with its stored value
    columns = {f.name for f in dataclasses.fields(CaptureSummary)} - {"extra"}
    assert columns <= set(listed), columns - set(listed)
    assert listed["trace_id"] == TRACE_ID
    assert listed["span_id"] == SPAN_ID
    assert listed["path"] == "/items/42"
    assert listed["route"] == "/items/{item_id}"
    assert listed["status"] == 200
    assert listed["allocations"] == 321
    # AND what the capture keeps beside them, at the top level
    for key, value in capture.extra.items():
        assert listed[key] == value, key
    # AND the readable fields keep their shape
    assert listed["target"] == "GET /items/{item_id}"
    assert listed["started_at"].endswith("+00:00")


def test_ls_json_extra_never_overrides_a_column(pk: Any) -> None:
    """A stored ``extra`` key named like a column does not replace the column's value."""
    capture = _request_capture().replace(extra={"status": "spoofed", "gc_s": 0.5})
    with open_store(pk.store) as store:
        store.add(capture)
    (listed,) = pk.ls_json()
    assert listed["status"] == 200
    assert listed["gc_s"] == 0.5
