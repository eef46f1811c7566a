"""Running workloads reproducibly: warm-up, interleaved repetitions, count passes, a profile.

Repetitions are interleaved (each round runs every target once, starting
from a different target each round) so that a slow minute of a noisy
machine spreads over all targets instead of landing on one. Counts come from
their own passes after the timings, a profile for "which function grew" from
one more. Each target's results become one capture in the store.
"""

from __future__ import annotations

import math
import os
import platform
import socket
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from profiler_kit.capture.cpu import encode_session
from profiler_kit.check.measure import count_calls, count_memory, timed_call
from profiler_kit.check.workloads import Workload
from profiler_kit.errors import MemoryUnavailableError
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture

__all__ = ["BenchResult", "bench_captures", "run_bench"]

PROFILE_SECONDS = 0.3  # enough 1 ms samples to rank functions
MIN_BATCH_S = 0.02  # a timed sample lasts at least this: one 300 µs call alone is mostly noise
PROFILE_MAX_CALLS = 1000


@dataclass
class BenchResult:
    workload: Workload
    calls_per_sample: int = 1
    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    profile: bytes | None = None
    notes: list[str] = field(default_factory=list)


Progress = Callable[[str], None]


def run_bench(
    workloads: Sequence[Workload],
    *,
    repeat: int,
    warmup: int,
    memory: bool = True,
    profile: bool = True,
    min_batch_s: float = MIN_BATCH_S,
    progress: Progress | None = None,
) -> list[BenchResult]:
    """Measure every workload; ``progress`` is told each step (for a progress bar)."""
    tick = progress or (lambda step: None)
    results = [BenchResult(workload) for workload in workloads]
    started: list[Workload] = []
    try:
        for workload in workloads:
            started.append(workload)  # closed even if its setup fails half-way
            workload.setup()
        for _ in range(warmup):
            for result in results:
                result.workload.run()
                tick("warm-up")
        batches = {id(result): _batch(result, min_batch_s) for result in results}
        for round_index in range(repeat):
            shift = round_index % len(results)
            for result in results[shift:] + results[:shift]:
                timing = timed_call(batches[id(result)])
                result.wall_s.append(timing.wall_s / result.calls_per_sample)
                result.cpu_s.append(timing.cpu_s / result.calls_per_sample)
                tick("timing")
        for result in results:
            single = timed_call(result.workload.run)  # repeatable: gc.collect() comes first
            result.counts["gc_collections"] = single.gc_collections
            result.counts["queries"] = single.queries
            result.counts["calls"] = count_calls(result.workload.run)
            tick("counting")
            if memory:
                try:
                    result.counts.update(count_memory(result.workload.run))
                except MemoryUnavailableError as error:
                    result.notes.append(f"no allocation counts: {error}")
            tick("counting")
            if profile:
                result.profile = _profile(result.workload.run)
            tick("profiling")
    finally:
        for workload in started:
            workload.close()
    return results


def _batch(result: BenchResult, min_batch_s: float) -> Callable[[], None]:
    """A function running the workload often enough for one timed sample to last ``min_batch_s``.

    Each sample is then the mean of that many calls, which keeps the timer's
    resolution and one-off hiccups small next to the effect being measured.
    """
    run = result.workload.run
    once = timed_call(run).wall_s
    calls = max(1, min(10_000, math.ceil(min_batch_s / once))) if once > 0 else 10_000
    result.calls_per_sample = calls
    if calls == 1:
        return run

    def batch() -> None:
        for _ in range(calls):
            run()

    return batch


def steps(workload_count: int, repeat: int, warmup: int) -> int:
    """How many progress ticks :func:`run_bench` makes."""
    return workload_count * (warmup + repeat + 3)


def _profile(function: Callable[[], object]) -> bytes:
    """A CPU profile of enough calls to rank functions by their share."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001, async_mode="disabled")
    deadline = time.perf_counter() + PROFILE_SECONDS
    profiler.start()
    try:
        calls = 0
        while calls < PROFILE_MAX_CALLS and (calls == 0 or time.perf_counter() < deadline):
            function()
            calls += 1
    finally:
        session = profiler.stop()
    return encode_session(session, drop_prefix=_drop_bench_frames)


def _drop_bench_frames(stack: Sequence[str]) -> int:
    """Stacks start at the workload's own code, below this module and the workload adapters."""
    from profiler_kit.check import workloads

    own = (__file__, workloads.__file__)
    last = -1
    for index, identifier in enumerate(stack):
        parts = identifier.split("\x00", 2)
        if len(parts) > 1 and parts[1] in own:
            last = index
    return last + 1


def bench_captures(
    results: Sequence[BenchResult], *, run_id: str, service: str, repeat: int, warmup: int
) -> list[Capture]:
    """One capture per target: medians as its wall and CPU, every sample in ``extra``."""
    captures = []
    now = time.time()
    for result in results:
        workload = result.workload
        captures.append(
            Capture(
                id=new_capture_id(now),
                kind="request" if workload.kind == "request" else "script",
                service=service,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=now,
                wall_s=statistics.median(result.wall_s),
                cpu_s=statistics.median(result.cpu_s),
                reason="bench",
                target=workload.name,
                method=workload.method,
                route=workload.path,
                path=workload.path,
                status=200 if workload.kind == "request" else None,
                allocated_bytes=result.counts.get("allocated_bytes"),
                allocations=result.counts.get("allocations"),
                peak_memory=result.counts.get("peak_bytes"),
                cpu_profile=result.profile,
                extra={
                    "bench": {
                        "run": run_id,
                        "repeat": repeat,
                        "warmup": warmup,
                        "calls_per_sample": result.calls_per_sample,
                        "wall_s": result.wall_s,
                        "cpu_s": result.cpu_s,
                        "counts": result.counts,
                        "notes": result.notes,
                        "python": platform.python_version(),
                    }
                },
            )
        )
    return captures
