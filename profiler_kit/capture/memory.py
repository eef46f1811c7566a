"""Memory engine: the memray tracker and the process's one memray lease.

memray allows one tracker per process, so :data:`memray_lock` is the lease
every user of the engine holds while a tracker runs (or while a capture file
is read, see :func:`~profiler_kit.capture.memory_summary.summarise`); this
module is the only one that takes it. What a tracker wrote is read by
:mod:`profiler_kit.capture.memory_summary`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from profiler_kit.capture.gcwatch import pause_collector, resume_collector
from profiler_kit.errors import MemoryBusyError, MemoryUnavailableError

__all__ = [
    "MemoryTracker",
    "memory_unavailable_reason",
    "memray_busy",
    "memray_lease",
    "memray_lock",
    "tracking",
]

memray_lock = threading.Lock()
"""Held for as long as a memray tracker is active in this process."""

# start(pause_gc=True): no automatic collection while the tracker runs, on
# CPython 3.11. There a collection can start inside the interpreter's own
# profile-event call, while it makes the frame object of a function being
# entered and before it calls memray's profile function; the collection runs
# Python code (gcwatch's gc.callbacks hook on every collection, weakref
# callbacks, finalizers), which reaches memray first. When that is the first
# event of a thread that was running before the tracker started, memray
# rebuilds the thread's shadow stack from its live frames, the entered
# function's frame already among them, then gets that function's own event
# and pushes it a second time. The return pops one copy; the other keeps a
# borrowed pointer to the frame object, which is freed, and memray reads it at
# the thread's next allocation: a segfault in PyFrame_GetLasti (seen with
# memory capture on every request: about 1 in 25k requests, always in the
# sampler hub's thread, on its Event.wait frame). 3.12 collects only between
# bytecodes; 3.10 made frame objects up front. The web engines ask for the
# pause: a server's threads (the hub, the writer, the expiry watchdog,
# threadpool workers) all run before the tracker starts, and memory_max_s
# bounds it. A thread started after the tracker gets a live shadow stack and
# is not exposed, so a whole-script capture (profiler-kit run, whose sampler
# starts after memray) keeps its collector.
_PAUSE_GC_WHILE_TRACKING = sys.version_info[:2] == (3, 11)


def _fresh_lock_after_fork() -> None:
    # A tracker active in the parent is not active in the child; neither is its lock.
    global memray_lock
    memray_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock_after_fork)


def memray_busy() -> bool:
    """Whether a tracker (or an exclusive summary) holds the process's memray lease now."""
    return memray_lock.locked()  # the global: replaced after a fork


@contextlib.contextmanager
def memray_lease() -> Iterator[None]:
    """Hold the process's memray lease for the block, waiting for it if need be.

    For work that must not overlap a tracker, such as reading a capture file
    (a tracker started meanwhile would record the reading as its own
    allocations).
    """
    with memray_lock:  # the global: replaced after a fork
        yield


def memory_unavailable_reason() -> str | None:
    """Why memory profiling cannot work here, or ``None`` when it can."""
    try:
        import memray  # noqa: F401
    except ImportError as error:
        return (
            f"memray cannot be imported ({error}); memory profiling needs Linux or macOS "
            "and `pip install memray`"
        )
    return None


class MemoryTracker:
    """A memray tracker writing to a private temporary file.

    Enter it before any CPU engine that uses the profile hook, and leave it
    after: memray restores the hook on exit and fails if another tool owns it.
    """

    def __init__(self, *, trace_python_allocators: bool = False) -> None:
        reason = memory_unavailable_reason()
        # Off for production captures (cheaper, sees what the OS hands out); on
        # for benchmark counts, where every object allocation must count alike.
        self.trace_python_allocators = trace_python_allocators
        if reason:
            raise MemoryUnavailableError(reason)
        self._directory: str | None = None
        self.path = Path("capture.bin")  # the real path is made by start()
        self._tracker: Any = None
        self._owns_lock = False
        self._paused_collector = False
        self._stop_lock = threading.Lock()
        self.expired = False  # stopped by max_seconds rather than by its owner

    def start(self, max_seconds: float | None = None, *, pause_gc: bool = False) -> None:
        """Take the process's memray lease and start tracking; nothing is left behind on failure.

        With ``max_seconds``, tracking stops by itself after that long: memray
        allows one tracker per process, so a request that hangs must not keep
        every other request from memory capture (nor keep paying memray's cost).
        With ``pause_gc``, on CPython 3.11, the process runs no automatic
        collection until :meth:`stop` (see ``_PAUSE_GC_WHILE_TRACKING``).
        """
        import tempfile

        import memray

        if not memray_lock.acquire(blocking=False):
            raise MemoryBusyError("another memory capture is running in this process")
        self._owns_lock = True
        _pin_search_path_strings()
        _quiet_memray_warnings(memray)
        try:
            self._directory = tempfile.mkdtemp(prefix="profiler-kit-memray-")
            self.path = Path(self._directory) / "capture.bin"
            self._tracker = memray.Tracker(
                destination=memray.FileDestination(str(self.path), overwrite=True),
                follow_fork=False,
                trace_python_allocators=self.trace_python_allocators,
            )
            if pause_gc and _PAUSE_GC_WHILE_TRACKING:
                pause_collector()  # until stop(), before memray's profile hook is in
                self._paused_collector = True
            self._tracker.__enter__()
        except Exception as error:
            self._tracker = None
            self._resume_collector()
            self._release()
            self.discard()
            raise MemoryUnavailableError(f"memray could not start: {error}") from error
        if max_seconds is not None and max_seconds > 0:
            _expiry.arm(self, max_seconds)

    def _expire(self) -> None:
        self.stop(expired=True)

    def stop(self, *, expired: bool = False) -> None:
        """Stop tracking (from any thread); stopping twice is harmless."""
        with self._stop_lock:
            running = self._tracker is not None
            _expiry.disarm(self)
            try:
                if running:
                    self._tracker.__exit__(None, None, None)
            finally:
                self._tracker = None
                self._resume_collector()  # memray's profile hook is gone from every thread
                self._release()
                # Only once tracking has really stopped: whoever sees the flag may rely on it.
                self.expired = self.expired or (expired and running)

    def _resume_collector(self) -> None:
        if self._paused_collector:
            self._paused_collector = False
            resume_collector()

    def _release(self) -> None:
        if self._owns_lock:
            self._owns_lock = False
            memray_lock.release()

    def discard(self) -> None:
        """Remove the capture file and its directory."""
        if self._directory is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            Path(self._directory).rmdir()


_memray_quieted = False


def _quiet_memray_warnings(memray: Any) -> None:
    """Keep memray's notices out of the host app's stderr.

    memray logs to stderr from C++ at WARNING and above; where the C library's
    symbols need fixing up (Debian's Python 3.13) it prints "Correcting symbol
    for malloc ..." at every tracker start: a line per memory capture in a
    server's log, about nothing the user can act on. Its errors still print.
    The threshold is process-wide and has no getter, so it is set once, when
    profiler-kit first starts a tracker.
    """
    global _memray_quieted
    if not _memray_quieted:
        memray.set_log_level(logging.ERROR)
        _memray_quieted = True


class _Expiry:
    """One long-lived thread that stops a tracker held past ``memory_max_s``.

    memray allows one tracker per process, so there is one deadline at a
    time. A ``threading.Timer`` per capture started and ended a thread for
    every memory capture (about 100 a second in the soak's hot phase), and
    each thread coming or going is one more thing for memray's start (which
    patches every thread) and the sampler hub (which reads every thread's
    frames) to race with.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._tracker: MemoryTracker | None = None
        self._deadline = 0.0
        self._thread: threading.Thread | None = None

    def arm(self, tracker: MemoryTracker, seconds: float) -> None:
        with self._condition:
            self._tracker, self._deadline = tracker, time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="profiler-kit-memray-expiry", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def disarm(self, tracker: MemoryTracker) -> None:
        with self._condition:
            if self._tracker is tracker:
                self._tracker = None

    @property
    def armed(self) -> MemoryTracker | None:
        return self._tracker

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._tracker is None:
                    self._condition.wait()
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._condition.wait(remaining)
                    continue  # re-read: disarmed, or armed again for another tracker
                tracker, self._tracker = self._tracker, None
            tracker._expire()  # outside the condition: stop() takes the tracker's own lock

    def after_fork_in_child(self) -> None:
        self._condition = threading.Condition()
        self._tracker, self._thread = None, None


_expiry = _Expiry()
os.register_at_fork(after_in_child=_expiry.after_fork_in_child)


_pinned_search_paths: object = None


def _pin_search_path_strings() -> None:
    """Keep one copy of memray's search-path listing alive, once per process.

    ``memray.Tracker()`` lists the stdlib, site-packages and ``sys.path`` as
    pathlib paths every time it is made, and pathlib interns every part of
    every path. Freed each time, those strings leave and re-enter the
    interpreter's interned-strings table, which then resizes again and again
    (a 1.9-2.9 MB table each time, kept by the allocator afterwards: RSS
    steps measured in the soak). Held here, the parts stay interned and
    later listings only look them up.
    """
    global _pinned_search_paths
    if _pinned_search_paths is not None:
        return
    try:
        from memray.reporters.module_tools import get_python_path_info

        _pinned_search_paths = get_python_path_info()
    except Exception:  # moved or changed in another memray: only the churn remains
        _pinned_search_paths = ()


@contextlib.contextmanager
def tracking() -> Iterator[MemoryTracker]:
    """Track memory for the ``with`` block; the file is left for ``memory_summary.summarise``."""
    tracker = MemoryTracker()
    tracker.start()
    try:
        yield tracker
    finally:
        tracker.stop()
