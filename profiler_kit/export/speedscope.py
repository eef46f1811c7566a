"""speedscope's file format: one "sampled" profile of the merged stacks.

speedscope (https://www.speedscope.app, or ``speedscope file.json``) opens
this file as it is. Each distinct stack is one sample weighted by the
wall-clock seconds it accumulated, so the "Left Heavy" and "Sandwich" views
show the merged captures; the "Time Order" view shows stacks sorted by name,
since merging many captures leaves no single timeline.
"""

from __future__ import annotations

import json
from typing import Any

from profiler_kit import __version__
from profiler_kit.analysis.calltree import FrameInfo
from profiler_kit.export.stacks import MergedStacks

__all__ = ["SCHEMA_URL", "speedscope_document", "render_speedscope"]

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
UNIT = "seconds"


def speedscope_document(merged: MergedStacks) -> dict[str, Any]:
    """The speedscope file as plain data, with only the frames some stack uses."""
    frames = merged.frames
    index: dict[int, int] = {}
    shared: list[dict[str, Any]] = []
    samples: list[list[int]] = []
    weights: list[float] = []
    for stack, weight in merged.sorted_stacks():
        sample = []
        for frame_id in stack:
            local = index.get(frame_id)
            if local is None:
                local = index[frame_id] = len(shared)
                shared.append(_frame(frames[frame_id]))
            sample.append(local)
        samples.append(sample)
        weights.append(weight.seconds)
    name = merged.describe()
    return {
        "$schema": SCHEMA_URL,
        "exporter": f"profiler-kit {__version__}",
        "name": name,
        "activeProfileIndex": 0,
        "shared": {"frames": shared},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": UNIT,
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
    }


def _frame(info: FrameInfo) -> dict[str, Any]:
    frame: dict[str, Any] = {"name": info.name}
    if info.file:
        frame["file"] = info.file
    if info.line:
        frame["line"] = info.line
    return frame


def render_speedscope(merged: MergedStacks) -> bytes:
    """The speedscope JSON file's bytes (ASCII: every other character is escaped)."""
    document = speedscope_document(merged)
    return json.dumps(document, separators=(",", ":")).encode("ascii") + b"\n"
