"""Start and stop the profilers for one request, and read what they saw.

Two ways to profile a request:

* from its first line, by the sampler hub (the default): a helper thread
  reads the request's stack once per interval, so the request pays per
  sample, not per function call, and on an event loop a sample of a
  suspended task records where it awaits. With ``request_engine =
  "pyinstrument"``, pyinstrument's profile hook instead (``strict`` async
  mode on an event loop, so concurrent requests stay apart), unless memray
  holds the hook;
* late, for slow-request capture: the hub starts sampling only once the
  request has run for half the slow threshold, so fast requests pay nothing.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Literal

from pyinstrument import Profiler

from profiler_kit.capture.memory import MemoryTracker, memray_busy
from profiler_kit.capture.rss import read_rss
from profiler_kit.capture.sampler import SampleTarget, hub
from profiler_kit.errors import MemoryBusyError, MemoryUnavailableError

__all__ = ["RequestEngines", "THREADPOOL_FRAME", "WATCH_FROM"]

THREADPOOL_FRAME = "[threadpool]\x00<threadpool>\x000"
WATCH_FROM = 0.5  # start sampling a watched request at this fraction of slow_ms


class Hop:
    """One excursion of a request into a worker thread."""

    __slots__ = ("cpu0", "profiler", "thread_id")

    def __init__(self, thread_id: int, cpu0: float) -> None:
        self.thread_id = thread_id
        self.cpu0 = cpu0
        self.profiler: Any = None


_hop_lock = threading.Lock()


class _ProfileHook:
    """Who holds the interpreter's profile hook: pyinstrument profilers, or memray alone.

    Both install it process-wide. memray saves the hook it finds and puts it
    back when it stops; if a pyinstrument profiler started in between (another
    request on the same event loop or server), memray restores an object that
    is no longer callable and is left broken for the rest of the process
    (measured in a soak: every later memory capture failed and memory grew).
    So a memory capture starts only when no profiler of ours is running, and
    while memray runs other requests are sampled by the sampler hub instead.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.profilers = 0

    def start_memray(self, tracker: MemoryTracker, max_seconds: float | None) -> None:
        with self.lock:
            if self.profilers:
                raise MemoryBusyError("a CPU profile of another request is running")
            # The server's other threads were running before: see memory._PAUSE_GC_WHILE_TRACKING.
            tracker.start(max_seconds=max_seconds, pause_gc=True)

    def start_profiler(self, profiler: Any) -> bool:
        """Start ``profiler`` unless memray holds the hook; False means: use the hub."""
        with self.lock:
            if memray_busy():
                return False
            profiler.start()
            self.profilers += 1
            return True

    def profiler_stopped(self) -> None:
        with self.lock:
            self.profilers -= 1

    def after_fork_in_child(self) -> None:
        self.lock = threading.Lock()
        self.profilers = 0


profile_hook = _ProfileHook()
os.register_at_fork(after_in_child=profile_hook.after_fork_in_child)


class RequestEngines(SampleTarget):
    """The profilers attached to one request.

    It is also its own sampler-hub target, so a watched request makes one
    object here, not two. Defaults are class attributes (containers start as
    shared empty tuples and frozensets, replaced under ``_hop_lock`` when a
    hop adds to them; ``interval`` is set on the class a recorder makes):
    ``__init__`` sets only what differs per request. Whoever registers it with
    the hub sets ``key``; ``stop()`` unregisters it.
    """

    profiler: Any = None  # pyinstrument Profiler, from the first line
    interval = 0.001
    engine = "sampler"  # or "pyinstrument": Settings.request_engine
    is_async = False
    key: Any = None  # its key in the hub's registry, once registered
    tracker: MemoryTracker | None = None
    memory_error: MemoryUnavailableError | None = None
    sessions: tuple[Any, ...] = ()  # threadpool sessions
    hop_cpu_s = 0.0
    active_hops: frozenset[int] = frozenset()
    rss0: int | None = None

    def __init__(self) -> None:
        # A request's engines are filled in by RequestRecorder.start(), which
        # also follows its task on an event loop; this serves direct use.
        self.thread_id = threading.get_ident()

    # -- from the first line -------------------------------------------------

    def start_full(self, memory: bool, memory_max_s: float | None = None) -> None:
        self.rss0 = read_rss()
        if memory:
            try:
                tracker = MemoryTracker()
                profile_hook.start_memray(tracker, memory_max_s)
                self.tracker = tracker
            except MemoryUnavailableError as error:
                self.memory_error = error
        if self.tracker is None and self.engine == "pyinstrument":
            strict = self.is_async and self.task is not None
            mode: Literal["strict", "disabled"] = "strict" if strict else "disabled"
            profiler = Profiler(interval=self.interval, async_mode=mode)
            if profile_hook.start_profiler(profiler):
                self.profiler = profiler
                return
        # The hub samples this request from now on, once RequestRecorder.start()
        # has registered it: the default, and the only way while memray holds
        # the profile hook.
        if hub.interval > self.interval:
            hub.interval = self.interval
        self.sample_from_now(self.interval)
        hub.lower_switch_interval()

    # -- threadpool hops -----------------------------------------------------

    def enter_hop(self) -> Hop:
        hop = Hop(threading.get_ident(), time.thread_time())
        with _hop_lock:
            self.active_hops = self.active_hops | {hop.thread_id}
        if self.profiler is not None:
            profiler = Profiler(interval=self.interval, async_mode="disabled")
            if profile_hook.start_profiler(profiler):
                hop.profiler = profiler
        if hop.profiler is None and self.sampled:
            with _hop_lock:
                self.helper_threads = self.helper_threads | {hop.thread_id}
        return hop

    def exit_hop(self, hop: Hop) -> None:
        cpu_s = time.thread_time() - hop.cpu0
        session = None
        if hop.profiler is not None:
            try:
                session = hop.profiler.stop()
            finally:
                profile_hook.profiler_stopped()
        with _hop_lock:
            if hop.thread_id in self.helper_threads:
                self.helper_threads = self.helper_threads - {hop.thread_id}
            self.active_hops = self.active_hops - {hop.thread_id}
            self.hop_cpu_s += cpu_s
            if session is not None:
                self.sessions = (*self.sessions, session)

    # -- the end -------------------------------------------------------------

    def stop(self) -> tuple[Any, list[tuple[list[str], float]], int]:
        """Stop everything; returns (pyinstrument session, hub records, foreign samples)."""
        session = None
        if self.profiler is not None:
            try:
                session = self.profiler.stop()
            finally:
                profile_hook.profiler_stopped()
        records: list[tuple[list[str], float]] = []
        foreign = 0
        if self.key is not None:
            hub.remove(self.key)
        if self.began_at is not None:
            records, foreign = self.records, self.foreign_samples
            if self.rss0 is None:
                self.rss0 = self.rss_at_begin  # watched: baseline from when it got slow
        if self.tracker is not None:
            self.tracker.stop()
        return session, records, foreign

    @property
    def watching_began(self) -> float | None:
        return self.began_at
