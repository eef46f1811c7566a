"""Measuring one call of a workload: timings, and counts that machine noise cannot move.

Timings on shared CI runners wander by several percent; counts do not. So
each workload is measured in separate passes, because instruments disturb
each other and the timings: plain timed calls (wall, CPU, garbage
collections, SQL queries), one call under ``cProfile`` counting Python
function calls, one under memray counting allocations. Before every
measured call a full collection puts the collector in the same state, which
is what makes the GC count repeatable.
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from profiler_kit.capture.memory import MemoryTracker
from profiler_kit.capture.memory_summary import allocation_totals
from profiler_kit.errors import MemoryUnavailableError

__all__ = [
    "COUNT_METRICS",
    "Timing",
    "clock",
    "count_calls",
    "count_memory",
    "query_counter",
    "timed_call",
]

COUNT_METRICS = (
    "calls",
    "allocations",
    "allocated_bytes",
    "peak_bytes",
    "gc_collections",
    "queries",
    "instructions",
)


@dataclass
class Timing:
    wall_s: float
    cpu_s: float
    gc_collections: int
    queries: int


@dataclass
class _Counter:
    count: int = 0


@contextlib.contextmanager
def clock() -> Iterator[Timing]:
    """Wall and CPU time and GC collections of a block; the Timing is filled at its end.

    Only clocks and a GC callback run inside, so the block can sit under
    memray without the measurement's own allocations being counted.
    """
    timing = Timing(0.0, 0.0, 0, 0)

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            timing.gc_collections += 1

    gc.callbacks.append(on_gc)
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    try:
        yield timing
    finally:
        timing.wall_s = time.perf_counter() - wall0
        timing.cpu_s = time.process_time() - cpu0
        gc.callbacks.remove(on_gc)


def timed_call(function: Callable[[], object]) -> Timing:
    """One timed call. CPU is the process's, so work handed to worker threads counts."""
    gc.collect()
    with query_counter() as queries, clock() as timing:
        function()
    timing.queries = queries.count
    return timing


def count_calls(function: Callable[[], object]) -> int:
    """Python function calls made by one call (built-ins not counted), through cProfile."""
    profile = cProfile.Profile(builtins=False)
    gc.collect()
    profile.enable()
    try:
        function()
    finally:
        profile.disable()
    return sum(entry.callcount for entry in profile.getstats() if not isinstance(entry.code, str))


def count_memory(function: Callable[[], object]) -> dict[str, int]:
    """Allocations, allocated bytes and peak bytes of one call, every Python object included.

    Raises :class:`~profiler_kit.errors.MemoryUnavailableError` without memray.
    """
    tracker = MemoryTracker(trace_python_allocators=True)
    gc.collect()
    tracker.start()
    try:
        try:
            function()
        finally:
            tracker.stop()
        total_bytes, allocations, peak = allocation_totals(tracker.path)
    except MemoryUnavailableError:
        raise
    except OSError as error:
        raise MemoryUnavailableError(f"memray's capture could not be read: {error}") from error
    finally:
        tracker.discard()  # also when the function raised: no file left behind
    return {"allocations": allocations, "allocated_bytes": total_bytes, "peak_bytes": peak}


@contextlib.contextmanager
def query_counter() -> Iterator[_Counter]:
    """Counts SQL statements of the Django ORM and SQLAlchemy, when the app imported them."""
    counter = _Counter()
    with contextlib.ExitStack() as stack:
        if "django.db" in sys.modules:
            stack.enter_context(_django_queries(counter))
        if "sqlalchemy" in sys.modules:
            stack.enter_context(_sqlalchemy_queries(counter))
        yield counter


@contextlib.contextmanager
def _django_queries(counter: _Counter) -> Iterator[None]:
    from django.conf import settings

    if not settings.configured:
        yield
        return
    from django.db import connections

    def wrapper(execute: Any, sql: Any, params: Any, many: Any, context: Any) -> Any:
        counter.count += 1
        return execute(sql, params, many, context)

    with contextlib.ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(wrapper))
        yield


@contextlib.contextmanager
def _sqlalchemy_queries(counter: _Counter) -> Iterator[None]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before_cursor_execute(*args: Any, **kwargs: Any) -> None:
        counter.count += 1

    event.listen(Engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", before_cursor_execute)
