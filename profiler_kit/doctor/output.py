"""Checks as terminal lines, and the counts that decide doctor's exit status."""

from __future__ import annotations

from collections.abc import Iterable

from profiler_kit.doctor.results import Check, Status

__all__ = ["format_text", "summary"]

MARKS: dict[Status, str] = {"ok": "ok", "warn": "warn", "fail": "FAIL", "info": "info"}
NAME_WIDTH = 24  # longer check names push their line's message to the right


def summary(checks: Iterable[Check]) -> dict[str, int]:
    counts = {"ok": 0, "warn": 0, "fail": 0, "info": 0}
    for check in checks:
        counts[check.status] += 1
    return counts


def format_text(checks: list[Check]) -> list[str]:
    """One line per check, then a line of totals."""
    width = min(max((len(check.name) for check in checks), default=0), NAME_WIDTH)
    lines = []
    for check in checks:
        line = f"{MARKS[check.status]:<4}  {check.name:<{width}}  {check.message}"
        if check.fix and check.status in ("warn", "fail"):
            line += f" -- fix: {check.fix}"
        lines.append(line)
    counts = summary(checks)
    verdict = "problems found" if counts["fail"] else "no problems found"
    lines.append(
        f"doctor: {verdict} ({counts['fail']} failed, {counts['warn']} warnings, "
        f"{counts['ok']} ok, {counts['info']} info)"
    )
    return lines
