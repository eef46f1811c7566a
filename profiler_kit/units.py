"""Human-readable durations and sizes, shared by the terminal and the reports."""

from __future__ import annotations

__all__ = ["format_seconds", "format_bytes", "format_count", "counted"]


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 100:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1_000_000:.0f} µs"


def format_bytes(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - unreachable


def format_count(count: int | None) -> str:
    return "-" if count is None else f"{count:,}"


def counted(count: int, noun: str) -> str:
    """``1 capture``, ``2,000 captures``: a count and its noun, in agreement."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")
