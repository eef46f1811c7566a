"""The capture record: what every profiled request or script becomes.

One shape for every source keeps everything downstream (reports, exports,
checks) ignorant of where a capture came from. Heavy payloads (the CPU
profile and the memory summary) travel as already-encoded bytes so that the
store never needs to know their format.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Capture", "CaptureKind", "KeepReason"]

CaptureKind = Literal["request", "script"]
KeepReason = Literal["sampled", "slow", "triggered", "always", "script", "bench"]


@dataclass
class Capture:
    """One profiled unit of work.

    Times are seconds; ``started_at`` is seconds since the Unix epoch.
    ``cpu_profile`` and ``memory_profile`` hold the encodings produced by
    :mod:`profiler_kit.capture.cpu` and :mod:`profiler_kit.capture.memory`.
    """

    id: str
    kind: CaptureKind
    service: str
    host: str
    pid: int
    started_at: float
    wall_s: float
    cpu_s: float
    reason: KeepReason
    target: str
    method: str | None = None
    route: str | None = None
    path: str | None = None
    status: int | None = None
    exit_code: int | None = None
    trace_id: str | None = None
    span_id: str | None = None
    peak_memory: int | None = None
    allocated_bytes: int | None = None
    allocations: int | None = None
    cpu_profile: bytes | None = None
    memory_profile: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Capture:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)
