"""CPU profiles: the stored encoding, prefix trimming, the thread sampler and frame ids."""

from __future__ import annotations

import json
import os
import sys
import time
import zlib
from collections.abc import Sequence

import pytest
from pyinstrument import Profiler
from pyinstrument.session import Session

from profiler_kit.capture.cpu import (
    FORMAT,
    PyinstrumentEngine,
    ThreadSampler,
    decode_profile,
    encode_session,
    frame_identifier,
)


def _spin(seconds: float) -> int:
    """Burn CPU in this frame for ``seconds``."""
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def _outer_work() -> int:
    return _inner_work()


def _inner_work() -> int:
    return _spin(0.03)


def _code_key(function: object) -> str:
    """The ``name NUL file NUL firstline`` head of a function's frame identifier."""
    code = function.__code__  # type: ignore[attr-defined]
    return f"{code.co_name}\x00{code.co_filename}\x00{code.co_firstlineno}"


def _real_session() -> Session:
    profiler = Profiler(interval=0.0001)
    profiler.start()
    _outer_work()
    return profiler.stop()


def _session(records: list[tuple[list[str], float]]) -> Session:
    """A pyinstrument session with the given frame records and distinctive metadata."""
    return Session(
        frame_records=records,
        start_time=1_700_000_000.5,
        duration=sum(seconds for _, seconds in records) + 0.01,
        min_interval=0.001,
        max_interval=0.004,
        sample_count=len(records),
        start_call_stack=[],
        target_description="demo target",
        cpu_time=0.0123,
        sys_path=["/app", "/usr/lib/python3"],
        sys_prefixes=["/usr"],
    )


RUNNER = "run\x00/kit/runner.py\x0010"
ENTRY = "enter\x00/kit/runner.py\x0020"
MAIN = "main\x00/app/main.py\x001"
LEAF = "leaf\x00/app/main.py\x005"


def test_real_session_round_trips() -> None:
    """decode_profile(encode_session(s)) reproduces a real session's records and metadata."""
    # GIVEN a session of real pyinstrument samples
    session = _real_session()
    assert session.frame_records, "pyinstrument took no samples"
    # WHEN encoded and decoded
    profile = decode_profile(encode_session(session))
    # THEN the records and metadata survive unchanged
    restored = profile.to_session()
    assert restored.frame_records == [(list(s), t) for s, t in session.frame_records]
    assert profile.duration == session.duration
    assert restored.start_time == session.start_time
    assert restored.cpu_time == session.cpu_time
    assert restored.sys_path == session.sys_path
    assert restored.sys_prefixes == session.sys_prefixes
    assert sum(profile.stack_weights().values()) == pytest.approx(
        sum(t for _, t in session.frame_records)
    )
    # AND the profiled function is in the samples
    assert any(_code_key(_spin) in frame for frame in profile.frames)


def test_pyinstrument_engine_session_round_trips() -> None:
    """A session from PyinstrumentEngine encodes and decodes to the same frame records."""
    engine = PyinstrumentEngine(interval=0.0001)
    engine.start()
    _outer_work()
    session = engine.stop()
    profile = decode_profile(encode_session(session))
    assert profile.to_session().frame_records == [(list(s), t) for s, t in session.frame_records]


def test_encoding_interns_frames_and_stacks() -> None:
    """Each distinct frame string and stack is stored once; samples reference them by index."""
    records = [([MAIN, LEAF], 0.1), ([MAIN], 0.2), ([MAIN, LEAF], 0.3)]
    profile = decode_profile(encode_session(_session(records)))
    assert sorted(profile.frames) == sorted({MAIN, LEAF})
    assert len(profile.stacks) == 2
    sample_stacks = [stack for stack, _ in profile.samples]
    assert sample_stacks[0] == sample_stacks[2] != sample_stacks[1]
    weights = profile.stack_weights()
    full = profile.stacks.index([profile.frames.index(MAIN), profile.frames.index(LEAF)])
    assert weights[full] == pytest.approx(0.4)


def test_drop_prefix_trims_outer_frames() -> None:
    """drop_prefix returning n removes the n outermost frames of every stack."""
    # GIVEN stacks that all start with two machinery frames
    records = [([RUNNER, ENTRY, MAIN, LEAF], 0.25), ([RUNNER, ENTRY, MAIN], 0.5)]
    seen: list[list[str]] = []

    def two(stack: Sequence[str]) -> int:
        seen.append(list(stack))
        return 2

    # WHEN encoded with a drop_prefix of 2
    profile = decode_profile(encode_session(_session(records), drop_prefix=two))
    # THEN the hook saw the full stacks, and the stored stacks start at MAIN
    assert seen == [stack for stack, _ in records]
    assert profile.to_session().frame_records == [([MAIN, LEAF], 0.25), ([MAIN], 0.5)]
    assert RUNNER not in profile.frames and ENTRY not in profile.frames


def test_negative_drop_prefix_drops_samples() -> None:
    """drop_prefix returning -1 leaves that sample out entirely."""
    records = [
        ([RUNNER], 0.125),  # before the target started
        ([RUNNER, ENTRY, MAIN, LEAF], 0.25),
        ([RUNNER, ENTRY, MAIN], 0.5),
        ([RUNNER], 0.0625),  # after it ended
    ]

    def machinery(stack: Sequence[str]) -> int:
        return stack.index(ENTRY) + 1 if ENTRY in stack else -1

    profile = decode_profile(encode_session(_session(records), drop_prefix=machinery))
    session = profile.to_session()
    assert session.frame_records == [([MAIN, LEAF], 0.25), ([MAIN], 0.5)]
    assert session.sample_count == 2
    assert RUNNER not in profile.frames


def test_to_session_keeps_metadata() -> None:
    """to_session() restores duration, intervals, target description and paths."""
    original = _session([([MAIN, LEAF], 0.25)])
    session = decode_profile(encode_session(original)).to_session()
    assert session.duration == original.duration
    assert session.min_interval == original.min_interval
    assert session.max_interval == original.max_interval
    assert session.target_description == original.target_description
    assert session.sys_path == original.sys_path


def test_decode_garbage_bytes_raises_value_error() -> None:
    """Random bytes (not zlib) are a ValueError, not a zlib error."""
    with pytest.raises(ValueError, match="unreadable CPU profile"):
        decode_profile(os.urandom(64))


def test_decode_uncompressed_json_raises_value_error() -> None:
    """A valid document that was not compressed is refused with ValueError."""
    blob = json.dumps({"format": FORMAT, "frames": [], "stacks": [], "samples": []}).encode()
    with pytest.raises(ValueError):
        decode_profile(blob)


@pytest.mark.parametrize(
    "document",
    [
        {"format": "pyinstrument/other", "frames": [], "stacks": [], "samples": [], "meta": {}},
        ["not", "a", "dict"],
        "just a string",
    ],
    ids=["other-format", "list", "string"],
)
def test_decode_wrong_format_raises_value_error(document: object) -> None:
    """Compressed JSON that is not a profiler-kit CPU document is a ValueError."""
    blob = zlib.compress(json.dumps(document).encode())
    with pytest.raises(ValueError, match="unknown format"):
        decode_profile(blob)


@pytest.mark.parametrize(
    ("stacks", "samples"),
    [
        ([[0]], [[1, 0.1]]),  # sample points past the last stack
        ([[0]], [[-1, 0.1]]),  # negative stack index
        ([[0, 1]], [[0, 0.1]]),  # stack points past the last frame
        ([[-1]], [[0, 0.1]]),  # negative frame index
    ],
    ids=["stack-too-big", "stack-negative", "frame-too-big", "frame-negative"],
)
def test_decode_out_of_range_index_raises_value_error(
    stacks: list[list[int]], samples: list[list[float]]
) -> None:
    """Indices outside the frame or stack tables are a ValueError."""
    document: dict[str, object] = {"format": FORMAT, "frames": [MAIN], "meta": {}}
    document.update(stacks=stacks, samples=samples)
    with pytest.raises(ValueError, match="out of range"):
        decode_profile(zlib.compress(json.dumps(document).encode()))


def test_decode_incomplete_document_raises_value_error() -> None:
    """A document with the right format tag but no tables is a ValueError."""
    with pytest.raises(ValueError):
        decode_profile(zlib.compress(json.dumps({"format": FORMAT}).encode()))


class Widget:
    def method_frame(self) -> object:
        return sys._getframe()


def test_frame_identifier_names_the_class_of_a_method() -> None:
    """A method's identifier carries its class (\\x01c) and the current line (\\x01l)."""
    frame = Widget().method_frame()
    identifier = frame_identifier(frame)  # type: ignore[arg-type]
    assert identifier.startswith(_code_key(Widget.method_frame))
    assert "\x01cWidget" in identifier
    assert f"\x01l{frame.f_lineno}" in identifier  # type: ignore[attr-defined]


def test_frame_identifier_has_no_class_for_plain_and_nested_functions() -> None:
    """Module functions and functions defined inside functions carry no class attribute."""

    def nested() -> object:
        return sys._getframe()

    assert "\x01c" not in frame_identifier(sys._getframe())
    assert "\x01c" not in frame_identifier(nested())  # type: ignore[arg-type]
    assert frame_identifier(nested()).startswith(_code_key(nested))  # type: ignore[arg-type]


def _spin_watching_switch_interval(seconds: float) -> float:
    """Burn CPU for ``seconds``; return the lowest switch interval seen meanwhile."""
    end = time.perf_counter() + seconds
    lowest = sys.getswitchinterval()
    while time.perf_counter() < end:
        lowest = min(lowest, sys.getswitchinterval())
    return lowest


def _wait_for_switch_interval(expected: float, timeout: float = 1.0) -> float:
    """Poll until the switch interval is ``expected`` (the sampler restores it from its thread)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if sys.getswitchinterval() == pytest.approx(expected, abs=2e-6):
            break
        time.sleep(0.001)
    return sys.getswitchinterval()


def test_thread_sampler_samples_busy_main_thread() -> None:
    """ThreadSampler records the busy function's frames, weighted to the wall time."""
    # GIVEN a distinctive switch interval to check it is lowered then restored
    original = sys.getswitchinterval()
    sys.setswitchinterval(0.0037)
    distinctive = sys.getswitchinterval()  # as stored (microsecond granularity)
    try:
        sampler = ThreadSampler(interval=0.001)
        # WHEN the main thread spins for ~0.2 s under the sampler
        wall0 = time.perf_counter()
        sampler.start()
        lowest = _spin_watching_switch_interval(0.2)
        session = sampler.stop()
        wall = time.perf_counter() - wall0
        after = _wait_for_switch_interval(distinctive)
    finally:
        sys.setswitchinterval(original)
    # THEN the switch interval was lowered to (at most) the sampling interval, then restored
    assert lowest <= 0.001 + 2e-6
    assert after == pytest.approx(distinctive, abs=2e-6)  # CPython stores whole microseconds
    # AND the samples show the busy function at the top of the main thread's stack
    records = session.frame_records
    assert len(records) >= 20
    spin_key = _code_key(_spin_watching_switch_interval)
    with_spin = [stack for stack, _ in records if any(f.startswith(spin_key) for f in stack)]
    assert len(with_spin) >= 0.8 * len(records)
    assert all(stack[-1].startswith(spin_key) for stack in with_spin)
    this_test = _code_key(test_thread_sampler_samples_busy_main_thread)
    assert all(any(f.startswith(this_test) for f in stack) for stack in with_spin)
    # AND the weights add up to (roughly) the sampled wall time
    weights = sum(seconds for _, seconds in records)
    assert 0.5 * wall <= weights <= wall
    assert session.duration <= wall + 0.01
    assert session.sample_count == len(records)


def test_thread_sampler_session_encodes() -> None:
    """A ThreadSampler session survives encode_session/decode_profile like pyinstrument's."""
    sampler = ThreadSampler(interval=0.001)
    sampler.start()
    _spin(0.05)
    session = sampler.stop()
    profile = decode_profile(encode_session(session))
    assert profile.to_session().frame_records == [(list(s), t) for s, t in session.frame_records]
