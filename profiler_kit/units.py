"""Human-readable durations, sizes, counts and names, shared by the terminal and the reports.

Names (functions, routes, check targets) come from user code and URLs and may
hold anything. Plain-text outputs show them through :func:`printable`, so a
newline or a terminal escape sequence in a name stays on its line, cannot
drive the terminal, and is written the same way in every such output: as the
Python escape a developer would type for it.
"""

from __future__ import annotations

__all__ = ["format_seconds", "format_bytes", "format_count", "counted", "escape_char", "printable"]

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


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


def escape_char(char: str) -> str:
    """``char`` as its Python escape (``\\n``, ``\\x1b``, ``\\u2028``): ASCII, and unambiguous."""
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every character that is not printable written by :func:`escape_char`."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else escape_char(char) for char in text)
