"""A kept request's capture, put together on the writer thread.

The request thread only gathers facts (times, ids, the profilers' raw
output) and hands them over: trimming the server's frames, merging threadpool
hops, encoding the CPU profile, reading memray's file and telling
OpenTelemetry about the capture all happen here, off the request path.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from pyinstrument.session import Session

from profiler_kit.analysis.calltree import CallTree
from profiler_kit.capture.cpu import decode_profile, encode_records
from profiler_kit.capture.memory_summary import MemorySummary, encode_summary, summarise
from profiler_kit.config import Settings
from profiler_kit.otel.derive import link_attributes
from profiler_kit.otel.link import SpanLink
from profiler_kit.otel.live import emit_live_spans
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture
from profiler_kit.web.counters import Stats
from profiler_kit.web.engines import THREADPOOL_FRAME

__all__ = ["CaptureAssembler", "Records"]

Records = list[tuple[list[str], float]]
"""Root-first frame identifiers with the seconds each sample stands for."""

_WEB_DIR = os.path.dirname(__file__) + os.sep
_THREADPOOL_FILE = os.path.join(os.path.dirname(__file__), "threadpool.py")
_PLACEHOLDERS = ("[await]", "[out-of-context]")
_HOP_FUNCTIONS = ("_hop", "_async_hop")
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep
_APP, _OWN, _HOP = "app", "own", "hop"
_FRAME_KINDS_LIMIT = 20_000
_SYS_PREFIXES = Session.current_sys_prefixes()  # what pyinstrument's own sessions record


def _own_dirs() -> tuple[str, ...]:
    """Where our own request-path frames live: this package and the plugins."""
    import profiler_kit.plugins as plugins

    return (_WEB_DIR, *(os.path.join(p, "") for p in plugins.__path__))


class CaptureAssembler:
    """Turns one request's facts and raw profiles into a stored :class:`Capture`."""

    def __init__(self, settings: Settings, stats: Stats, host: str) -> None:
        self.settings = settings
        self.stats = stats
        self.host = host
        self._own_dirs = _own_dirs()
        # Frame identifier -> _APP, _OWN or _HOP: a stack is classified frame by
        # frame for every sample, and the same few hundred frames recur.
        self._frame_kinds: dict[str, str] = {}

    def build(
        self,
        facts: dict[str, Any],
        session: Any,
        records: Records,
        hop_sessions: list[Any],
        tracker_path: Path | None,
    ) -> Capture:
        """Trim, merge and encode the profiles; ``facts`` are the capture's fields."""
        main: Records = []
        if session is not None:
            main += self._trimmed(session.frame_records)
        main += self._trimmed(records)
        merged = list(main)
        for hop in hop_sessions:
            merged += self._trimmed(hop.frame_records, hop=True)
        interval = self.settings.interval
        profile_meta = {
            "start_time": facts["started_at"],
            "duration": facts["wall_s"],
            "min_interval": interval,
            "max_interval": max((seconds for _, seconds in merged), default=interval),
            "cpu_time": 0.0,
            "target_description": "",
            "start_call_stack": [],
            "sys_path": list(sys.path),
            "sys_prefixes": _SYS_PREFIXES,
        }
        extra = facts.pop("extra")
        thread_cpu_s = facts.pop("thread_cpu_s")
        if extra["async"]:
            # The loop thread also ran other requests: count only this one's samples.
            on_cpu = sum(
                seconds
                for stack, seconds in main
                if stack and not stack[-1].startswith(_PLACEHOLDERS)
            )
            cpu_s = on_cpu + extra["threadpool_cpu_s"]
        else:
            cpu_s = thread_cpu_s + extra["threadpool_cpu_s"]
        memory: MemorySummary | None = None
        if tracker_path is not None:
            # Read under the process's memray lease: a tracker started meanwhile
            # would record this summarising as the next request's allocations
            # (measured: captures grew 18 -> 1.35M allocations under load).
            # Requests wanting memory meanwhile are captured without it and
            # counted as memory.busy.
            try:
                memory = summarise(tracker_path, drop_outer=self._memory_outer, exclusive=True)
            finally:
                _remove(tracker_path)
        route = facts["route"]
        return Capture(
            kind="request",
            service=self.settings.service,
            host=self.host,
            pid=os.getpid(),
            cpu_s=cpu_s,
            target=f"{facts['method']} {route or facts['path']}",
            peak_memory=memory.peak_bytes if memory else None,
            allocated_bytes=memory.total_bytes if memory else None,
            allocations=memory.allocations if memory else None,
            id=new_capture_id(facts["started_at"]),
            cpu_profile=encode_records(merged, profile_meta),
            memory_profile=encode_summary(memory) if memory else None,
            extra={k: v for k, v in extra.items() if v is not None},
            **facts,
        )

    def link(self, capture: Capture, link: SpanLink | None) -> Capture | None:
        """Tell the server span about its capture and emit live spans.

        Returns ``None`` when the capture is to be emitted but not stored.
        """
        mode = self.settings.otel_spans
        if link is None and mode == "off":
            return capture
        tree = CallTree()
        if capture.cpu_profile:
            tree.add_profile(decode_profile(capture.cpu_profile))
        bounds = link.bounds() if link is not None else (None, None)
        if link is not None:
            link.release(link_attributes(capture, tree))
        if mode != "off":
            try:
                emit_live_spans(
                    capture,
                    tree,
                    min_share=self.settings.otel_min_share,
                    min_frame_ms=self.settings.otel_min_frame_ms,
                    within=bounds,
                )
            except Exception as error:
                self.stats.failure("emitting live OpenTelemetry spans", error)
            if mode == "live-only":
                return None
        return capture

    def _trimmed(self, records: Records, *, hop: bool = False) -> Records:
        """Drop the server's and our own frames above the app's first frame."""
        out = []
        kind_of = self._frame_kinds.get
        if len(self._frame_kinds) > _FRAME_KINDS_LIMIT:
            self._frame_kinds.clear()
        for stack, seconds in records:
            last_own = -1
            via_threadpool = False
            for index, identifier in enumerate(stack):
                kind = kind_of(identifier)
                if kind is None:
                    kind = self._frame_kinds[identifier] = self._kind(identifier)
                if kind is _APP:
                    continue
                via_threadpool = kind is _HOP
                last_own = index
            if last_own < 0:
                if hop:
                    continue  # a worker-thread sample outside the request's function
                # A child task of the request (a streamed body, a task group):
                # cut the event loop's frames, keep the task's own.
                last_own = _last_index(stack, _ASYNCIO_DIR)
            rest = stack[last_own + 1 :]
            out.append(([THREADPOOL_FRAME, *rest] if via_threadpool else rest, seconds))
        return out

    def _kind(self, identifier: str) -> str:
        """Whether a frame is the app's, ours, or the worker end of a threadpool hop."""
        parts = identifier.split("\x00", 2)
        if len(parts) < 2 or not parts[1].startswith(self._own_dirs):
            return _APP
        if parts[1] == _THREADPOOL_FILE:
            # Only the worker-thread end of a hop starts a new stack; the
            # wrapper on the event loop sits inside the app's own chain.
            return _HOP if parts[0] in _HOP_FUNCTIONS else _APP
        return _OWN

    def _memory_outer(self, stack_outer_first: Any) -> int:
        own = self._own_dirs
        last_own = -1
        for index, (_, filename, _) in enumerate(stack_outer_first):
            if str(filename).startswith(own):
                last_own = index
        return last_own + 1


def _last_index(stack: list[str], directory: str) -> int:
    for index in range(len(stack) - 1, -1, -1):
        parts = stack[index].split("\x00", 2)
        if len(parts) > 1 and parts[1].startswith(directory):
            return index
    return -1


def _remove(path: Path) -> None:
    try:
        path.unlink()
        path.parent.rmdir()
    except OSError:
        pass
