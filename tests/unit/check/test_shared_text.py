"""The text helpers the check report shares with the other outputs.

Names are escaped one way in every plain-text output (the check's text table
and the collapsed-stack export); the check's bootstrap interval is taken
with the same percentile the aggregate report uses, which must survive the
infinite ratios of a zero baseline.
"""

from __future__ import annotations

import math

import pytest

from profiler_kit.analysis.calltree import FrameInfo
from profiler_kit.analysis.durations import percentile
from profiler_kit.export.collapsed import frame_label
from profiler_kit.units import counted, escape_char, printable


@pytest.mark.parametrize(
    ("char", "escape"),
    [
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\x1b", "\\x1b"),
        ("\x85", "\\x85"),
        ("\u2028", "\\u2028"),
        ("\ud800", "\\ud800"),
        ("\U000e0001", "\\U000e0001"),
    ],
)
def test_escape_char_writes_python_escapes(char: str, escape: str) -> None:
    assert escape_char(char) == escape
    assert printable(f"a{char}b") == f"a{escape}b"


def test_printable_keeps_printable_text() -> None:
    text = "view; ünïcode 名前 (a|b) \\n"
    assert printable(text) is text


def test_collapsed_labels_escape_as_printable_does_and_replace_separators() -> None:
    frame = FrameInfo(name="handle;\x1b[31mred\n", file="/app/v.py", line=3, app=True)
    assert frame_label(frame) == printable("handle,\x1b[31mred\n (/app/v.py:3)")
    assert frame_label(frame) == "handle,\\x1b[31mred\\n (/app/v.py:3)"


def test_counted_agrees_in_number() -> None:
    assert [counted(n, "target") for n in (0, 1, 2)] == ["0 targets", "1 target", "2 targets"]


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0, math.inf, math.inf], 75.0, math.inf),
        ([1.0, math.inf], 0.0, 1.0),
        ([1.0, 2.0, math.inf], 50.0, 2.0),
        ([1.0, 2.0, math.inf], 75.0, math.inf),
        ([1.0, 2.0], 25.0, 1.25),
    ],
)
def test_percentile_copes_with_infinite_values(
    values: list[float], q: float, expected: float
) -> None:
    assert percentile(values, q) == expected
