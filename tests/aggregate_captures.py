"""Hand-made captures and stores for the tests of the many-capture aggregation and report.

Each capture states every field the aggregation reads (route, wall, CPU and
GC time, status, error, peak memory, CPU and memory profiles), so that a
test recomputes its expected numbers from its own inputs, with
:func:`quantiles` standing in for the product's percentiles. Built on
``profiler_kit.testing.make_capture``: only what aggregation cares about is
spelled out here.
"""

from __future__ import annotations

import datetime
import itertools
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from profiler_kit.store import open_store
from profiler_kit.store.record import Capture
from profiler_kit.testing import cpu_blob, frame_string, memory_blob
from profiler_kit.testing import make_capture as base_capture

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z

Records = list[tuple[list[str], float]]
Site = tuple[int, int, list[tuple[str, str, int]]]

HANDLER = frame_string("handler", "/app/views.py", 10)
QUERY = frame_string("query", "/app/db.py", 42)
RENDER = frame_string("render", "/app/views.py", 30)
HELPER = frame_string("helper", "/app/util.py", 3)
PLANTED = frame_string("planted_slow", "/app/slow.py", 7)

_sequence = itertools.count()


def make_capture(
    wall: float,
    *,
    route: str | None = "/items/{id}",
    path: str | None = None,
    method: str | None = "GET",
    status: int | None = 200,
    cpu: float = 0.0,
    gc: float | None = None,
    error: str | None = None,
    started: float | None = None,
    records: Records | None = None,
    memory: Sequence[Site] | None = None,
    peak: int | None = None,
    service: str = "shop",
    kind: str = "request",
    target: str | None = None,
    exit_code: int | None = None,
    cpu_profile: bytes | None = None,
) -> Capture:
    """One capture of a request (or, with ``kind="script"``, of a script).

    Without ``started`` each capture starts one second after the last one
    made here, so that default captures never share a start time.
    """
    started = T0 + next(_sequence) if started is None else started
    extra: dict[str, Any] = {}
    if gc is not None:
        extra["gc_s"] = gc
    if error is not None:
        extra["error"] = error
    request = kind == "request"
    return base_capture(
        started_at=started,
        kind=kind,
        service=service,
        host="worker-1",
        wall_s=wall,
        cpu_s=cpu,
        reason="sampled" if request else "script",
        target=target or (f"{method} {path or route}" if request else "job.py"),
        method=method if request else None,
        route=route if request else None,
        path=(path or route) if request else None,
        status=status if request else None,
        exit_code=exit_code,
        peak_memory=peak,
        cpu_profile=cpu_blob(records) if records else cpu_profile,
        memory_profile=memory_blob(memory) if memory is not None else None,
        extra=extra,
    )


def make_store(path: Path, captures: list[Capture]) -> Path:
    """A store file at ``path`` holding ``captures``."""
    with open_store(path) as store:
        store.add_many(captures)
    return path


def quantiles(values: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95, p99 by inclusive linear interpolation (statistics, not the product)."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def iso(moment: float) -> str:
    """A moment as the report and the CLI's ``--since`` write it (UTC, whole seconds)."""
    return datetime.datetime.fromtimestamp(moment, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
