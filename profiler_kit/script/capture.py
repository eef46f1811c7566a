"""Turn a finished script run into a stored capture."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
from pathlib import Path

from profiler_kit.capture.cpu import encode_session
from profiler_kit.capture.memory_summary import MemorySummary, encode_summary, summarise
from profiler_kit.script.runner import RunResult, Target, identifier_depth, machinery_depth
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture

__all__ = ["capture_from_run", "summarise_memory"]


def summarise_memory(result: RunResult) -> MemorySummary | None:
    """Summarise and delete the run's memray file, adding notes on what it misses."""
    if result.memory_file is None:
        return None
    try:
        summary = summarise(
            result.memory_file,
            drop_outer=lambda stack: machinery_depth([(f, p) for f, p, _ in stack]),
        )
    finally:
        with contextlib.suppress(OSError):
            result.memory_file.unlink()
        with contextlib.suppress(OSError):
            result.memory_file.parent.rmdir()
    if result.forks:
        summary.notes.append(
            f"The target forked {result.forks} child process(es). memray follows one "
            "process, so allocations made in the children are not included."
        )
    return summary


def capture_from_run(
    target: Target,
    result: RunResult,
    memory: MemorySummary | None,
    *,
    service: str | None = None,
    interval: float = 0.001,
) -> Capture:
    """The capture record for one ``profiler-kit run``."""
    extra: dict[str, object] = {
        "argv": [target.script or f"-m {target.module}", *target.args],
        "interval": interval,
        "python": platform.python_version(),
        "engine": "thread-sampler" if memory is not None else "pyinstrument",
        "samples": len(result.session.frame_records),
    }
    if result.interrupted:
        extra["interrupted"] = True
    if result.forks:
        extra["forks"] = result.forks
    return Capture(
        id=new_capture_id(result.started_at),
        kind="script",
        service=service or Path(target.name).stem,
        host=socket.gethostname(),
        pid=os.getpid(),
        started_at=result.started_at,
        wall_s=result.wall_s,
        cpu_s=result.cpu_s,
        reason="script",
        target=target.description,
        exit_code=result.exit_code,
        peak_memory=memory.peak_bytes if memory else None,
        allocated_bytes=memory.total_bytes if memory else None,
        allocations=memory.allocations if memory else None,
        cpu_profile=encode_session(result.session, drop_prefix=identifier_depth),
        memory_profile=encode_summary(memory) if memory else None,
        extra=extra,
    )
