"""The sampler hub's registry, and ThreadSampler on a target someone else registers.

The registry is how the hub knows what to sample and how a request served
on its own thread is found again (``target_of``), so registering,
unregistering and looking up must be exact. The live tests run a private
hub, never the process-wide one, and wait a bounded time for its thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from profiler_kit.capture import sampler as sampler_module
from profiler_kit.capture.cpu import ThreadSampler
from profiler_kit.capture.sampler import SamplerHub, SampleTarget

WAIT_S = 10.0


def _wait_until(condition: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return condition()


def spin_in_registry_test_worker(stop: threading.Event) -> None:
    """A busy function whose name the samples must show."""
    total = 0
    while not stop.is_set():
        for i in range(500):
            total += i % 7


def idle_in_registry_test_helper(stop: threading.Event) -> None:
    stop.wait(WAIT_S)


@contextmanager
def _running(function: Callable[[threading.Event], None]) -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=function, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(WAIT_S)


@pytest.fixture
def fresh_hub() -> SamplerHub:
    hub = SamplerHub(interval=0.001)
    hub.LINGER = 0.05  # its thread leaves soon after the test empties the registry
    return hub


def _names(target: SampleTarget) -> set[str]:
    return {identifier.split("\x00", 1)[0] for stack, _ in target.records for identifier in stack}


# -- the registry -------------------------------------------------------------------


def test_a_registered_target_is_found_under_its_key(fresh_hub: SamplerHub) -> None:
    target = SampleTarget(threading.get_ident(), math.inf)
    fresh_hub.add(target, "request-1")
    assert fresh_hub.target_of("request-1") is target
    assert fresh_hub.registered() == [target]
    assert fresh_hub.target_of("request-2") is None


def test_a_removed_target_is_gone(fresh_hub: SamplerHub) -> None:
    target = SampleTarget(threading.get_ident(), math.inf)
    fresh_hub.add(target, 17)
    fresh_hub.remove(17)
    assert fresh_hub.target_of(17) is None
    assert fresh_hub.registered() == []


def test_removing_twice_or_removing_what_was_never_added_is_harmless(
    fresh_hub: SamplerHub,
) -> None:
    kept = SampleTarget(threading.get_ident(), math.inf)
    gone = SampleTarget(threading.get_ident(), math.inf)
    fresh_hub.add(kept, "kept")
    fresh_hub.add(gone, "gone")
    fresh_hub.remove("gone")
    fresh_hub.remove("gone")
    fresh_hub.remove("never added")
    assert fresh_hub.registered() == [kept]


def test_adding_under_a_taken_key_replaces_the_target(fresh_hub: SamplerHub) -> None:
    first = SampleTarget(threading.get_ident(), math.inf)
    second = SampleTarget(threading.get_ident(), math.inf)
    fresh_hub.add(first, "thread")
    fresh_hub.add(second, "thread")
    assert fresh_hub.target_of("thread") is second
    assert fresh_hub.registered() == [second]


def test_targets_and_thread_ids_are_keys_alike(fresh_hub: SamplerHub) -> None:
    by_itself = SampleTarget(threading.get_ident(), math.inf)
    by_thread = SampleTarget(threading.get_ident(), math.inf)
    fresh_hub.add(by_itself, by_itself)
    fresh_hub.add(by_thread, threading.get_ident())
    assert fresh_hub.target_of(by_itself) is by_itself
    assert fresh_hub.target_of(threading.get_ident()) is by_thread
    assert {id(t) for t in fresh_hub.registered()} == {id(by_itself), id(by_thread)}


def test_registered_is_a_snapshot(fresh_hub: SamplerHub) -> None:
    first = SampleTarget(threading.get_ident(), math.inf)
    fresh_hub.add(first, 1)
    snapshot = fresh_hub.registered()
    fresh_hub.add(SampleTarget(threading.get_ident(), math.inf), 2)
    snapshot.clear()
    assert len(fresh_hub.registered()) == 2


def test_hubs_keep_registries_of_their_own(fresh_hub: SamplerHub) -> None:
    target = SampleTarget(threading.get_ident(), math.inf)
    fresh_hub.add(target, "mine")
    assert sampler_module.hub.target_of("mine") is None
    assert SamplerHub().target_of("mine") is None


def test_a_target_that_is_never_due_is_registered_but_not_sampled() -> None:
    target = SampleTarget(threading.get_ident(), math.inf)
    assert not target.sampled
    assert SampleTarget(threading.get_ident(), time.perf_counter() + 60).sampled


# -- the hub thread on live threads -----------------------------------------------------


def test_a_target_due_now_is_sampled_by_the_hub_thread(fresh_hub: SamplerHub) -> None:
    with _running(spin_in_registry_test_worker) as worker:
        assert worker.ident is not None
        target = SampleTarget(worker.ident, time.perf_counter())
        fresh_hub.add(target, worker.ident)
        try:
            assert _wait_until(lambda: len(target.records) >= 5), "the hub never sampled"
        finally:
            fresh_hub.remove(worker.ident)
    assert target.began_at is not None
    assert "spin_in_registry_test_worker" in _names(target)
    assert all(seconds >= 0 for _, seconds in target.records)


def test_a_target_not_yet_due_is_left_alone_while_others_are_sampled(
    fresh_hub: SamplerHub,
) -> None:
    with _running(spin_in_registry_test_worker) as worker:
        assert worker.ident is not None
        due = SampleTarget(worker.ident, time.perf_counter())
        later = SampleTarget(worker.ident, time.perf_counter() + 3600)
        fresh_hub.add(later, "later")
        fresh_hub.add(due, "due")
        try:
            assert _wait_until(lambda: len(due.records) >= 5), "the hub never sampled"
        finally:
            fresh_hub.remove("due")
            fresh_hub.remove("later")
    assert later.began_at is None
    assert later.records == []


def test_a_removed_target_is_sampled_no_more(fresh_hub: SamplerHub) -> None:
    with _running(spin_in_registry_test_worker) as worker:
        assert worker.ident is not None
        target = SampleTarget(worker.ident, time.perf_counter())
        fresh_hub.add(target, "t")
        try:
            assert _wait_until(lambda: len(target.records) >= 3), "the hub never sampled"
        finally:
            fresh_hub.remove("t")
        # A look that began before the removal may still append once; then nothing.
        time.sleep(0.03)
        settled = len(target.records)
        time.sleep(0.03)
        assert len(target.records) == settled


def test_helper_threads_of_a_target_are_sampled_too(fresh_hub: SamplerHub) -> None:
    with (
        _running(idle_in_registry_test_helper) as main,
        _running(spin_in_registry_test_worker) as helper,
    ):
        assert main.ident is not None and helper.ident is not None
        target = SampleTarget(main.ident, time.perf_counter())
        target.helper_threads = frozenset({helper.ident})
        fresh_hub.add(target, "request")
        try:
            assert _wait_until(lambda: "spin_in_registry_test_worker" in _names(target))
        finally:
            fresh_hub.remove("request")
    assert "idle_in_registry_test_helper" in _names(target)


# -- ThreadSampler on a target registered elsewhere ----------------------------------------


def test_start_without_registering_leaves_the_registry_alone() -> None:
    target = SampleTarget(threading.get_ident(), math.inf)
    engine = ThreadSampler(0.001, target=target)
    before = time.perf_counter()
    engine.start(register=False)
    try:
        assert sampler_module.hub.target_of(target) is None
        assert all(t is not target for t in sampler_module.hub.registered())
        assert before <= target.start_at <= time.perf_counter()  # due from now on
    finally:
        engine.stop()
    assert all(t is not target for t in sampler_module.hub.registered())


def test_stop_returns_what_the_registering_hub_sampled_into_the_target(
    fresh_hub: SamplerHub,
) -> None:
    with _running(spin_in_registry_test_worker) as worker:
        assert worker.ident is not None
        target = SampleTarget(worker.ident, math.inf)
        engine = ThreadSampler(0.001, target=target)
        engine.start(register=False)
        fresh_hub.add(target, worker.ident)  # the owner registers it, under its own key
        try:
            assert _wait_until(lambda: len(target.records) >= 5), "the hub never sampled"
        finally:
            fresh_hub.remove(worker.ident)
            session = engine.stop()
    recorded = list(session.frame_records)
    assert recorded == target.records[: len(recorded)]
    assert session.sample_count == len(recorded) >= 5
    stacks = [stack for stack, _ in session.frame_records]
    assert any("spin_in_registry_test_worker" in frame for stack in stacks for frame in stack)


def test_stop_reads_the_records_as_they_are_in_the_target() -> None:
    target = SampleTarget(threading.get_ident(), math.inf)
    engine = ThreadSampler(0.002, target=target)
    engine.start(register=False)
    target.records = [(["outer\x00/app/a.py\x001", "inner\x00/app/a.py\x005"], 0.004)]
    session = engine.stop()
    assert session.frame_records == target.records
    assert session.max_interval == 0.004
    assert session.min_interval == 0.002


def test_by_default_the_sampler_registers_its_target_and_stop_unregisters_it() -> None:
    engine = ThreadSampler(0.001)
    engine.start()
    try:
        assert sampler_module.hub.target_of(engine.target) is engine.target
    finally:
        engine.stop()
    assert sampler_module.hub.target_of(engine.target) is None
