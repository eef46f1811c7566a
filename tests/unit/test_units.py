"""Human-readable durations, sizes and counts at their unit boundaries."""

from __future__ import annotations

import pytest

from profiler_kit.units import counted, format_bytes, format_count, format_seconds

KIB, MIB, GIB = 1024, 1024**2, 1024**3


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0, "0 µs"),
        (0.0000004, "0 µs"),
        (0.000250, "250 µs"),
        (0.000999, "999 µs"),  # just below 1 ms: still microseconds
        (0.001, "1.0 ms"),  # 1 ms boundary switches to milliseconds
        (0.0125, "12.5 ms"),
        (0.999, "999.0 ms"),
        (1, "1.00 s"),  # 1 s boundary switches to seconds with two decimals
        (12.345, "12.35 s"),
        (99.99, "99.99 s"),
        (100, "100 s"),  # 100 s boundary drops the decimals
        (3725.4, "3725 s"),
    ],
)
def test_format_seconds(seconds: float | None, text: str) -> None:
    """format_seconds picks µs / ms / s by magnitude with the documented precision."""
    assert format_seconds(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "-"),
        (0, "0 B"),
        (1, "1 B"),
        (KIB - 1, "1023 B"),
        (KIB, "1.0 KiB"),
        (KIB + KIB // 2, "1.5 KiB"),
        (MIB - 100 * KIB, "924.0 KiB"),
        (MIB, "1.0 MiB"),
        (20 * MIB, "20.0 MiB"),
        (GIB, "1.0 GiB"),
        (2048 * GIB, "2048.0 GiB"),  # GiB is the largest unit
        (-2 * KIB, "-2.0 KiB"),
    ],
)
def test_format_bytes(size: int | None, text: str) -> None:
    """format_bytes uses binary units, whole bytes below 1 KiB and one decimal above."""
    assert format_bytes(size) == text


@pytest.mark.parametrize(
    ("count", "text"),
    [(None, "-"), (0, "0"), (999, "999"), (1000, "1,000"), (1_234_567, "1,234,567")],
)
def test_format_count(count: int | None, text: str) -> None:
    """format_count groups thousands with commas and shows None as a dash."""
    assert format_count(count) == text


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 captures"), (1, "1 capture"), (2, "2 captures"), (2000, "2,000 captures")],
)
def test_counted_agrees_the_noun_with_the_count(count: int, text: str) -> None:
    assert counted(count, "capture") == text
