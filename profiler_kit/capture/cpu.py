"""CPU engines and the stored form of a CPU profile.

Two engines produce the same pyinstrument ``Session``:

* :class:`PyinstrumentEngine`, the default, pyinstrument's own sampler.
* :class:`ThreadSampler`, used while memray tracks memory. pyinstrument and
  memray both need the interpreter's single profile hook (``sys.setprofile``):
  with pyinstrument installed, memray loses every Python stack. The sampler
  instead reads the target thread's frames from a helper thread, which leaves
  the hook to memray.

The stored form interns frame strings and stacks, so a capture costs a few KB
and can be aggregated without building pyinstrument's frame tree.
"""

from __future__ import annotations

import math
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pyinstrument import Profiler
from pyinstrument.session import Session

from profiler_kit.capture.sampler import SampleTarget, frame_identifier, hub
from profiler_kit.store import safejson
from profiler_kit.store.blob import packed_json, unpack

__all__ = [
    "CpuEngine",
    "CpuProfile",
    "PyinstrumentEngine",
    "ThreadSampler",
    "decode_profile",
    "encode_records",
    "encode_session",
    "frame_identifier",
    "session_from_records",
]

FORMAT = "profiler-kit/cpu-1"


class CpuEngine(Protocol):
    """Starts and stops sampling of the calling thread."""

    def start(self) -> None: ...

    def stop(self) -> Session: ...


class PyinstrumentEngine:
    """pyinstrument's statistical profiler, for the thread that starts it."""

    def __init__(
        self,
        interval: float = 0.001,
        async_mode: Literal["enabled", "disabled", "strict"] = "disabled",
    ) -> None:
        self._profiler = Profiler(interval=interval, async_mode=async_mode)

    def start(self) -> None:
        self._profiler.start()

    def stop(self) -> Session:
        return self._profiler.stop()


class ThreadSampler:
    """Samples a thread from the sampler hub, without the profile hook.

    The engine for CPU while memray owns the hook in a script
    (``profiler-kit run --memory``: the calling thread, registered here).
    Web requests use the hub directly (``RequestEngines.start_full``). Sample
    weights are the measured time between samples, so totals stay right even
    when a sample is late.
    """

    def __init__(self, interval: float = 0.001, target: SampleTarget | None = None) -> None:
        self.interval = interval
        if target is None:
            target = SampleTarget(threading.get_ident(), math.inf)
        self.target = target
        self._registered = False
        self._started_wall = 0.0
        self._started_cpu = 0.0

    def start(self, *, register: bool = True) -> None:
        """Have the hub sample the target from now on (once it is registered)."""
        self._started_wall = time.time()
        self._started_cpu = time.process_time()
        hub.interval = min(hub.interval, self.interval)
        self.target.start_at = time.perf_counter()
        if register:
            hub.add(self.target, self.target)
            self._registered = True

    def stop(self) -> Session:
        """Unregister (if :meth:`start` registered) and return what was sampled."""
        assert self._started_wall, "stop() before start()"
        if self._registered:
            hub.remove(self.target)
            self._registered = False
        return session_from_records(
            self.target.records,
            start_time=self._started_wall,
            duration=time.time() - self._started_wall,
            interval=self.interval,
            cpu_time=time.process_time() - self._started_cpu,
        )


def session_from_records(
    records: list[tuple[list[str], float]],
    *,
    start_time: float,
    duration: float,
    interval: float,
    cpu_time: float,
) -> Session:
    """A pyinstrument session from sampler records."""
    return Session(
        frame_records=records,
        start_time=start_time,
        duration=duration,
        min_interval=interval,
        max_interval=max((seconds for _, seconds in records), default=interval),
        sample_count=len(records),
        start_call_stack=[],
        target_description="",
        cpu_time=cpu_time,
        sys_path=list(sys.path),
        sys_prefixes=Session.current_sys_prefixes(),
    )


@dataclass
class CpuProfile:
    """A decoded CPU profile: interned frames, stacks and weighted samples."""

    frames: list[str]
    stacks: list[list[int]]
    samples: list[tuple[int, float]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return float(self.meta.get("duration", 0.0))

    def stack_weights(self) -> dict[int, float]:
        """Total seconds per distinct stack, the input every aggregation starts from."""
        weights: dict[int, float] = {}
        for stack_index, seconds in self.samples:
            weights[stack_index] = weights.get(stack_index, 0.0) + seconds
        return weights

    def to_session(self) -> Session:
        """The equivalent pyinstrument session, for pyinstrument's own renderers."""
        records = [
            ([self.frames[i] for i in self.stacks[stack]], seconds)
            for stack, seconds in self.samples
        ]
        meta = self.meta
        return Session(
            frame_records=records,
            start_time=meta.get("start_time", 0.0),
            duration=meta.get("duration", 0.0),
            min_interval=meta.get("min_interval", 0.001),
            max_interval=meta.get("max_interval", 0.001),
            sample_count=len(records),
            start_call_stack=list(meta.get("start_call_stack", [])),
            target_description=meta.get("target_description", ""),
            cpu_time=meta.get("cpu_time", 0.0),
            sys_path=list(meta.get("sys_path", [])),
            sys_prefixes=list(meta.get("sys_prefixes", [])),
        )


def encode_session(
    session: Session, *, drop_prefix: Callable[[Sequence[str]], int] | None = None
) -> bytes:
    """Intern and compress a pyinstrument session for the store (see :func:`encode_records`)."""
    return encode_records(
        session.frame_records,
        {
            "start_time": session.start_time,
            "duration": session.duration,
            "min_interval": session.min_interval,
            "max_interval": session.max_interval,
            "cpu_time": session.cpu_time,
            "target_description": session.target_description,
            "start_call_stack": [],
            "sys_path": session.sys_path,
            "sys_prefixes": session.sys_prefixes,
        },
        drop_prefix=drop_prefix,
    )


def encode_records(
    records: Iterable[tuple[Sequence[str], float]],
    meta: dict[str, Any],
    *,
    drop_prefix: Callable[[Sequence[str]], int] | None = None,
) -> bytes:
    """Intern and compress sampled stacks (root first, with their seconds) for the store.

    ``drop_prefix`` returns how many outer frames of a stack belong to the
    profiler's own machinery (the CLI, runpy); a negative answer drops the whole
    sample (time spent before the target started or after it ended). ``meta``
    is :class:`CpuProfile`'s: what :meth:`CpuProfile.to_session` needs.
    """
    frame_index: dict[str, int] = {}
    stack_index: dict[tuple[int, ...], int] = {}
    samples: list[tuple[int, float]] = []
    for call_stack, seconds in records:
        skip = drop_prefix(call_stack) if drop_prefix else 0
        if skip < 0:
            continue
        key = tuple(frame_index.setdefault(name, len(frame_index)) for name in call_stack[skip:])
        samples.append((stack_index.setdefault(key, len(stack_index)), seconds))
    document = {
        "format": FORMAT,
        "frames": list(frame_index),
        "stacks": [list(key) for key in stack_index],
        "samples": samples,
        "meta": meta,
    }
    return packed_json(document)


def decode_profile(blob: bytes) -> CpuProfile:
    """Inverse of :func:`encode_session`; raises ``ValueError`` on foreign data."""
    try:
        document = safejson.loads(unpack(blob))
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError("unknown format")
        frames = [str(frame) for frame in document["frames"]]
        stacks = [[int(index) for index in stack] for stack in document["stacks"]]
        samples = [(int(stack), float(seconds)) for stack, seconds in document["samples"]]
        meta = document["meta"]
        if not isinstance(meta, dict):
            raise ValueError("meta is not an object")
        for key in ("sys_path", "sys_prefixes", "start_call_stack"):
            value = meta.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"meta.{key} is not a list of strings")
        if any(seconds < 0 for _, seconds in samples):
            raise ValueError("negative sample time")
    except (zlib.error, ValueError, TypeError, KeyError) as error:
        raise ValueError(f"unreadable CPU profile: {error}") from error
    if any(not 0 <= stack < len(stacks) for stack, _ in samples) or any(
        not 0 <= frame < len(frames) for stack in stacks for frame in stack
    ):
        raise ValueError("unreadable CPU profile: index out of range")
    return CpuProfile(frames=frames, stacks=stacks, samples=samples, meta=meta)
