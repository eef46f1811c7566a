"""Start and stop the profilers for one request, and read what they saw.

Two ways to profile a request:

* from its first line, with pyinstrument (``strict`` async mode on an event
  loop, so concurrent requests stay apart), or with the sampler hub when
  memray needs the profile hook;
* late, for slow-request capture: the hub starts sampling only once the
  request has run for half the slow threshold, so fast requests pay nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pyinstrument import Profiler

from profiler_kit.errors import MemoryUnavailableError
from profiler_kit.memory import MemoryTracker
from profiler_kit.rss import read_rss
from profiler_kit.sampler import SampleTarget, hub

__all__ = ["RequestEngines", "THREADPOOL_FRAME"]

THREADPOOL_FRAME = "[threadpool]\x00<threadpool>\x000"
WATCH_FROM = 0.5  # start sampling a watched request at this fraction of slow_ms


@dataclass
class Hop:
    """One excursion of a request into a worker thread."""

    thread_id: int
    profiler: Any = None
    cpu0: float = 0.0
    cpu_s: float = 0.0


@dataclass
class RequestEngines:
    """The profilers attached to one request."""

    interval: float
    is_async: bool
    thread_id: int = field(default_factory=threading.get_ident)
    loop: Any = None
    task: Any = None
    profiler: Any = None  # pyinstrument Profiler, from the first line
    target: SampleTarget | None = None  # sampler hub target (memory or slow watch)
    tracker: MemoryTracker | None = None
    memory_error: str | None = None
    sessions: list[Any] = field(default_factory=list)  # threadpool sessions
    hop_records: list[tuple[list[str], float]] = field(default_factory=list)
    hop_cpu_s: float = 0.0
    rss0: int | None = None
    _hop_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.is_async:
            with contextlib.suppress(RuntimeError):
                self.loop = asyncio.get_running_loop()
                self.task = asyncio.current_task()

    # -- from the first line -------------------------------------------------

    def start_full(self, memory: bool) -> None:
        self.rss0 = read_rss()
        if memory:
            try:
                tracker = MemoryTracker()
                tracker.start()
                self.tracker = tracker
            except MemoryUnavailableError as error:
                self.memory_error = str(error)
        if self.tracker is not None:
            self._start_target(time.perf_counter())
        else:
            strict = self.is_async and self.task is not None
            self.profiler = Profiler(
                interval=self.interval, async_mode="strict" if strict else "disabled"
            )
            self.profiler.start()

    # -- late, for slow requests ---------------------------------------------

    def watch(self, slow_ms: float, started: float) -> None:
        self._start_target(started + slow_ms * WATCH_FROM / 1000.0)

    def _start_target(self, start_at: float) -> None:
        self.target = SampleTarget(self.thread_id, start_at, loop=self.loop, task=self.task)
        hub.add(self.target)

    # -- threadpool hops -----------------------------------------------------

    def enter_hop(self) -> Hop:
        hop = Hop(threading.get_ident(), cpu0=time.thread_time())
        if self.profiler is not None:
            hop.profiler = Profiler(interval=self.interval, async_mode="disabled")
            hop.profiler.start()
        elif self.target is not None:
            self.target.helper_threads.add(hop.thread_id)
        return hop

    def exit_hop(self, hop: Hop) -> None:
        cpu_s = time.thread_time() - hop.cpu0
        session = hop.profiler.stop() if hop.profiler is not None else None
        if self.target is not None:
            self.target.helper_threads.discard(hop.thread_id)
        with self._hop_lock:
            self.hop_cpu_s += cpu_s
            if session is not None:
                self.sessions.append(session)

    # -- the end -------------------------------------------------------------

    def stop(self) -> tuple[Any, list[tuple[list[str], float]], int]:
        """Stop everything; returns (pyinstrument session, hub records, foreign samples)."""
        session = self.profiler.stop() if self.profiler is not None else None
        records: list[tuple[list[str], float]] = []
        foreign = 0
        if self.target is not None:
            hub.remove(self.target)
            records, foreign = self.target.records, self.target.foreign_samples
            if self.rss0 is None:
                self.rss0 = self.target.rss_at_begin  # watched: baseline from when it got slow
        if self.tracker is not None:
            self.tracker.stop()
        return session, records, foreign

    @property
    def watching_began(self) -> float | None:
        return self.target.began_at if self.target is not None else None
