"""The sampler hub reads other threads' frames with the collector paused on 3.11.

On CPython 3.11 a garbage collection can run in the middle of making a frame
object for another thread's running function, after the frame was read and
before it is linked; a finalizer that lets go of the GIL then lets the owning
thread pop the frame underneath (a segfault), or deadlocks inside
``sys._current_frames()``. These tests pin the guard down: what the hub
reads, it reads with ``gc`` off (on 3.11 only), and it leaves the collector as
it found it, exceptions included.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType

import pytest

from profiler_kit.capture import sampler
from profiler_kit.capture.sampler import RawStack, SamplerHub, SampleTarget

PAUSES = sys.version_info[:2] == (3, 11)


def _marked_busy_loop(stop: threading.Event) -> None:
    while not stop.is_set():
        time.sleep(0.0005)


@pytest.fixture
def busy_thread() -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=_marked_busy_loop, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(5)


@pytest.fixture
def collector_states(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the collector was on each time the hub read a stack."""
    states: list[bool] = []
    real = sampler.raw_stack_of

    def spy(frame: FrameType | None) -> RawStack:
        states.append(gc.isenabled())
        return real(frame)

    monkeypatch.setattr(sampler, "raw_stack_of", spy)
    return states


def _sample_twice(thread: threading.Thread) -> SampleTarget:
    """The first look starts the target, the second takes a sample."""
    assert thread.ident is not None
    target = SampleTarget(thread.ident, 0.0)
    hub = SamplerHub()
    own = threading.get_ident()
    hub._sample([target], time.perf_counter(), own)
    hub._sample([target], time.perf_counter(), own)
    return target


def test_stacks_are_read_with_the_collector_paused_on_3_11(
    busy_thread: threading.Thread, collector_states: list[bool]
) -> None:
    assert gc.isenabled()
    target = _sample_twice(busy_thread)
    assert collector_states == [not PAUSES]
    assert gc.isenabled(), "the hub must turn the collector back on"
    ((stack, gap),) = target.records
    assert gap > 0
    assert any(frame.startswith("_marked_busy_loop\x00") for frame in stack)


def test_a_collector_the_app_turned_off_stays_off(
    busy_thread: threading.Thread, collector_states: list[bool]
) -> None:
    gc.disable()
    try:
        _sample_twice(busy_thread)
        assert not gc.isenabled(), "the hub turned on a collector the app had turned off"
    finally:
        gc.enable()
    assert collector_states == [False]


def test_the_collector_comes_back_when_reading_a_stack_fails(
    busy_thread: threading.Thread, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(frame: FrameType | None) -> RawStack:
        raise RuntimeError("reading the stack failed")

    monkeypatch.setattr(sampler, "raw_stack_of", broken)
    with pytest.raises(RuntimeError):
        _sample_twice(busy_thread)
    assert gc.isenabled()


def test_the_first_look_reads_rss_outside_the_pause(
    busy_thread: threading.Thread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading RSS is file I/O and lets go of the GIL: the app must not run with gc off then."""
    states: list[bool] = []

    def spy_rss() -> int:
        states.append(gc.isenabled())
        return 12345

    monkeypatch.setattr(sampler, "read_rss", spy_rss)
    target = _sample_twice(busy_thread)
    assert states == [True], "RSS is read once, for the first look, with the collector on"
    assert target.rss_at_begin == 12345
