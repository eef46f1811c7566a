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

__all__ = ["UNITS", "Unit", "collapsed_lines", "frame_label", "render_collapsed"]

Unit = Literal["microseconds", "samples"]
UNITS: tuple[Unit, ...] = ("microseconds", "samples")

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def frame_label(frame: FrameInfo) -> str:
    """``function (file:line)``, safe to put between ``;`` separators."""
    location = frame.location
    return _safe(f"{frame.name} ({location})" if location else frame.name)


def _safe(text: str) -> str:
    if ";" not in text and text.isprintable():
        return text
    out = []
    for char in text:
        if char == ";":
            out.append(",")
        elif char.isprintable():
            out.append(char)
        else:
            out.append(_ESCAPES.get(char) or _escape(char))
    return "".join(out)


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


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
