"""Collapsed stacks: ``root;caller;leaf COUNT``, one line per distinct stack.

The format flamegraph.pl, inferno-flamegraph and speedscope read. Frames are
``function (file:line)`` as py-spy writes them. The format has no escaping,
so names are made safe instead: ``;`` (the frame separator) becomes ``,`` and
characters that are not printable (newlines, tabs, other line breaks and
control characters) are written as Python escapes (``\\n``, ``\\x00``), so one
stack always stays one line.

Counts must be integers. ``microseconds`` (the default) is the wall-clock
time pyinstrument measured for the stack; ``samples`` is the number of samples
taken in it. Microseconds are rounded so that the lines add up to the total of
the captures (see :func:`~profiler_kit.export.stacks.apportion`); a stack that
rounds to zero is left out. Lines are sorted, so the same captures always
give the same file.
"""

from __future__ import annotations

from typing import Literal

from profiler_kit.analysis.calltree import FrameInfo
from profiler_kit.export.stacks import MergedStacks, apportion
from profiler_kit.units import printable

__all__ = ["UNITS", "Unit", "collapsed_lines", "frame_label", "render_collapsed"]

Unit = Literal["microseconds", "samples"]
UNITS: tuple[Unit, ...] = ("microseconds", "samples")


def frame_label(frame: FrameInfo) -> str:
    """``function (file:line)``, safe to put between ``;`` separators.

    The format has no escaping: ``;`` would split the frame, so it becomes
    ``,``; a line break would split the stack, so it and every other
    character that is not printable become Python escapes.
    """
    location = frame.location
    label = f"{frame.name} ({location})" if location else frame.name
    return printable(label.replace(";", ","))


def collapsed_lines(merged: MergedStacks, unit: Unit = "microseconds") -> list[str]:
    """The lines (without newlines), sorted, stacks that read the same merged."""
    labels = [frame_label(frame) for frame in merged.frames]
    seconds: dict[str, float] = {}
    samples: dict[str, int] = {}
    for stack, weight in merged.weights.items():
        key = ";".join(labels[frame] for frame in stack)
        seconds[key] = seconds.get(key, 0.0) + weight.seconds
        samples[key] = samples.get(key, 0) + weight.samples
    keys = sorted(seconds)
    if unit == "samples":
        counts = [samples[key] for key in keys]
    else:
        counts = apportion([seconds[key] for key in keys], 1e6)
    return [f"{key} {count}" for key, count in zip(keys, counts, strict=True) if count > 0]


def render_collapsed(merged: MergedStacks, unit: Unit = "microseconds") -> bytes:
    """The file's bytes: UTF-8 lines ending in ``\\n``."""
    return "".join(line + "\n" for line in collapsed_lines(merged, unit)).encode("utf-8")
