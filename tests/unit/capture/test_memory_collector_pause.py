"""No automatic garbage collection while a web memory capture runs, on CPython 3.11.

There, a collection can start inside the interpreter's profile-event call (it
makes the frame object of the function being entered first), and the Python
code it runs (gcwatch's gc.callbacks hook, finalizers) reaches memray before
that function's own event. When that is a thread's first event since the
tracker started, memray puts the function on the thread's shadow stack twice;
one copy outlives the frame, and memray later reads the freed frame object (a
segfault under load in the sampler hub's thread). These tests pin the pause
down (asked for with ``start(pause_gc=True)``, as the web engines do), and
show the duplicate itself in a child process.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
import time
from unittest import mock

import pytest

from profiler_kit.capture import gcwatch
from profiler_kit.capture.memory import MemoryTracker, memory_unavailable_reason
from profiler_kit.capture.sampler import SamplerHub, SampleTarget

pytestmark = pytest.mark.skipif(
    memory_unavailable_reason() is not None, reason="memray is not available here"
)

PAUSES = sys.version_info[:2] == (3, 11)


def test_the_collector_is_paused_while_a_tracker_runs() -> None:
    assert gc.isenabled()
    tracker = MemoryTracker()
    tracker.start(pause_gc=True)
    try:
        assert gc.isenabled() is not PAUSES
    finally:
        tracker.stop()
        tracker.discard()
    assert gc.isenabled()


def test_without_pause_gc_the_collector_runs() -> None:
    """A whole-script capture (profiler-kit run) starts its threads after memray: no pause."""
    tracker = MemoryTracker()
    tracker.start()
    try:
        assert gc.isenabled()
    finally:
        tracker.stop()
        tracker.discard()


def test_web_memory_captures_pause_the_collector() -> None:
    from profiler_kit.web.engines import RequestEngines

    engines = RequestEngines()
    engines.start_full(memory=True, memory_max_s=10.0)
    try:
        assert engines.tracker is not None, engines.memory_error
        assert gc.isenabled() is not PAUSES
    finally:
        engines.stop()
        assert engines.tracker is not None
        engines.tracker.discard()
    assert gc.isenabled()


def test_the_sampler_hub_does_not_end_a_trackers_pause() -> None:
    """The hub pauses too (while it reads frames): its resume must not turn gc back on."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    tracker = MemoryTracker()
    tracker.start(pause_gc=True)
    try:
        assert thread.ident is not None
        target = SampleTarget(thread.ident, 0.0)
        hub = SamplerHub()
        for _ in range(2):
            hub._sample([target], time.perf_counter(), threading.get_ident())
        assert gc.isenabled() is not PAUSES, "the hub turned the collector on during a capture"
    finally:
        tracker.stop()
        tracker.discard()
        stop.set()
        thread.join(5)
    assert gc.isenabled()


def test_a_collector_the_app_turned_off_stays_off() -> None:
    gc.disable()
    try:
        tracker = MemoryTracker()
        tracker.start(pause_gc=True)
        tracker.stop()
        tracker.discard()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failed_start_ends_the_pause() -> None:
    import memray

    broken = mock.MagicMock()
    broken.return_value.__enter__.side_effect = RuntimeError("no")
    with mock.patch.object(memray, "Tracker", broken):
        tracker = MemoryTracker()
        with pytest.raises(Exception, match="no"):
            tracker.start(pause_gc=True)
    assert gc.isenabled()
    assert gcwatch._pauses == 0


# Each round: a thread waits (untraced) on a lock; the tracker starts; cyclic
# garbage is left above the collector's threshold; the thread goes on and its
# first profile event is the call of leaf(), whose frame object is the
# allocation that starts a collection, inside the interpreter's profile call.
DUPLICATES = textwrap.dedent(
    """
    import gc, threading, time
    import memray
    from profiler_kit.capture import gcwatch
    from profiler_kit.capture.memory import MemoryTracker

    ROUNDS = 30
    gcwatch.install()  # the Python gc callback every web recorder installs
    go, done = threading.Lock(), threading.Lock()
    go.acquire(); done.acquire()

    class Cycle:
        def __init__(self):
            self.me = self

    def leaf():
        return len(bytearray(4096))  # a malloc memray records, leaf() on its stack

    def worker():
        for _ in range(ROUNDS):
            go.acquire()
            leaf()
            done.release()
            time.sleep(0.003)  # waits on `go` again only after the tracker stopped

    threading.Thread(target=worker, daemon=True).start()
    time.sleep(0.01)
    # Bound up front: tracing a call of a method descriptor makes a bound method,
    # which would start the collection on this thread instead.
    set_threshold, release, acquire = gc.set_threshold, go.release, done.acquire
    threshold = gc.get_threshold()[0]
    duplicated = 0
    for _ in range(ROUNDS):
        tracker = MemoryTracker()
        tracker.start(pause_gc=True)  # as the web engines start it
        set_threshold(100_000)
        garbage = [Cycle() for _ in range(300)]
        del garbage
        set_threshold(50)
        release()
        acquire()
        tracker.stop()
        set_threshold(threshold)
        with memray.FileReader(str(tracker.path)) as reader:
            for record in reader.get_allocation_records():
                try:
                    names = [frame[0] for frame in record.stack_trace()]
                except NotImplementedError:  # a deallocation
                    continue
                if any(a == b == "leaf" for a, b in zip(names, names[1:])):
                    duplicated += 1
        tracker.discard()
        time.sleep(0.008)
    print(duplicated)
    """
)


def test_memray_never_sees_a_frame_twice() -> None:
    done = subprocess.run(
        [sys.executable, "-c", DUPLICATES], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0", "allocations recorded with leaf() twice on their stack"
