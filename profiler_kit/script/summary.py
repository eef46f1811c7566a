"""The hotspot summary printed on the terminal after a run."""

from __future__ import annotations

from profiler_kit.analysis.calltree import Hotspot
from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.units import format_bytes, format_count, format_seconds

__all__ = ["render_summary"]

TOP = 10


def render_summary(view: CaptureView, *, top: int = TOP, width: int = 100) -> str:
    """Plain text: run facts, top functions by self and total time, memory."""
    capture, tree = view.capture, view.tree
    lines = [
        f"profiler-kit: {capture.target}",
        f"  wall {format_seconds(capture.wall_s)} · CPU {format_seconds(capture.cpu_s)} · "
        f"{format_count(view.samples)} samples · exit status {capture.exit_code}",
    ]
    if tree.total <= 0:
        lines.append("  no CPU samples: the target finished before the first sample")
    else:
        lines += _table("Top functions by self time", tree.hotspots("self", top), view, width)
        lines += _table("Top functions by total time", tree.hotspots("total", top), view, width)
    memory = view.memory
    if memory is not None:
        lines += [
            "",
            f"Memory: peak {format_bytes(memory.peak_bytes)} · "
            f"allocated {format_bytes(memory.total_bytes)} in "
            f"{format_count(memory.allocations)} allocations · "
            f"still allocated at exit {format_bytes(memory.leaked_bytes)}",
        ]
        for site in memory.top_sites[:5]:
            function, file, line = site.stack[0] if site.stack else ("<unknown>", "", 0)
            where = f"{view.short(file)}:{line}" if file else ""
            lines.append(f"  {format_bytes(site.bytes):>10}  {function}  {where}")
        lines += [f"  note: {note}" for note in memory.notes]
    return "\n".join(lines)


def _table(title: str, spots: list[Hotspot], view: CaptureView, width: int) -> list[str]:
    total = view.tree.total or 1.0
    lines = ["", title, f"  {'self':>9} {'total':>9} {'share':>6}  function"]
    for spot in spots:
        frame = view.tree.frames[spot.frame]
        share = (spot.self_time if title.endswith("self time") else spot.total_time) / total
        row = (
            f"  {format_seconds(spot.self_time):>9} {format_seconds(spot.total_time):>9} "
            f"{share:>6.1%}  {frame.name}  {view.location(frame)}"
        )
        lines.append(row if len(row) <= width else row[: width - 1] + "…")
    return lines
