"""A stored capture decoded for showing: call tree, hotspots, memory.

Both the terminal summary and the HTML report start here, so they always
agree on what a capture says.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from profiler_kit.analysis.calltree import CallTree, FrameInfo
from profiler_kit.capture.cpu import decode_profile
from profiler_kit.capture.memory_summary import MemorySummary, decode_summary
from profiler_kit.errors import ProfilerKitError
from profiler_kit.store.record import Capture

__all__ = ["CaptureView", "short_path"]


class CorruptCaptureError(ProfilerKitError):
    """A capture's payload cannot be decoded."""


@dataclass
class CaptureView:
    capture: Capture
    tree: CallTree
    memory: MemorySummary | None
    sys_path: list[str]
    samples: int

    @classmethod
    def load(cls, capture: Capture) -> CaptureView:
        tree = CallTree()
        sys_path: list[str] = []
        samples = 0
        try:
            if capture.cpu_profile:
                profile = decode_profile(capture.cpu_profile)
                tree.add_profile(profile)
                sys_path = [str(p) for p in profile.meta.get("sys_path", [])]
                samples = len(profile.samples)
            memory = decode_summary(capture.memory_profile) if capture.memory_profile else None
        except ValueError as error:
            raise CorruptCaptureError(f"capture {capture.id} cannot be read: {error}") from error
        return cls(capture, tree, memory, sys_path, samples)

    def short(self, file: str) -> str:
        return short_path(file, self.sys_path)

    def location(self, frame: FrameInfo) -> str:
        if not frame.file:
            return ""
        short = self.short(frame.file)
        return f"{short}:{frame.line}" if frame.line else short


def short_path(file: str, sys_path: Sequence[str], cwd: str | None = None) -> str:
    """The shortest honest name for a source file.

    Relative to the working directory when it lives there, else relative to the
    ``sys.path`` entry that contains it (``json/decoder.py``), else unchanged.
    """
    if not file or file.startswith("<"):
        return file
    cwd = cwd if cwd is not None else str(Path.cwd())
    candidates = [file]
    for base in (cwd, *sys_path):
        if base and file.startswith(base.rstrip(os.sep) + os.sep):
            candidates.append(file[len(base.rstrip(os.sep)) + 1 :])
    return min(candidates, key=len)
