"""The work behind ``profiler-kit report`` over many captures: aggregate, render, summarise."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import click

from profiler_kit.analysis.aggregate import Aggregate, aggregate
from profiler_kit.analysis.calltree import FrameTable
from profiler_kit.analysis.sources import count_captures
from profiler_kit.errors import ProfilerKitError
from profiler_kit.reports.aggregate_data import aggregate_report_data
from profiler_kit.reports.render import render_aggregate_report
from profiler_kit.store import Selection
from profiler_kit.units import counted, format_seconds

__all__ = ["build_and_write", "overview_table"]

OVERVIEW_ROWS = 20


def _pass(
    paths: list[Path], selection: Selection | None, table: FrameTable, label: str
) -> Aggregate:
    total = count_captures(paths, selection=selection)
    with click.progressbar(
        length=total, label=label, file=sys.stderr, show_pos=True, hidden=not sys.stderr.isatty()
    ) as bar:
        return aggregate(paths, selection, table=table, on_capture=lambda: bar.update(1))


def build_and_write(
    paths: list[Path],
    selection: Selection,
    baseline_paths: list[Path],
    baseline_selection: Selection | None,
    output: Path,
) -> str:
    """Aggregate, write the HTML report, and return the terminal overview."""
    table = FrameTable()
    baseline = None
    if baseline_paths:
        baseline = _pass(baseline_paths, baseline_selection, table, "Baseline captures")
    current = _pass(paths, selection, table, "Captures")
    if not current.captures:
        raise ProfilerKitError(
            "no captures match: check the store path and the --route/--since/--until filters "
            "(profiler-kit ls lists what is stored)"
        )
    labels = (
        _label(baseline_paths, baseline_selection) or "baseline",
        _label(paths, selection),
    )
    data = aggregate_report_data(current, baseline, labels=labels)
    try:
        output.write_text(render_aggregate_report(data), encoding="utf-8", errors="replace")
    except OSError as error:
        raise ProfilerKitError(f"cannot write the report to {output}: {error.strerror}") from error
    text = overview_table(current)
    if current.skipped:
        text += f"\n{len(current.skipped)} capture(s) could not be read and were skipped:"
        text += "".join(f"\n  {line}" for line in current.skipped[:10])
    return text


def _label(paths: list[Path], selection: Selection | None) -> str:
    """Store names, and the time window when one was chosen (two windows of one store)."""
    names = ", ".join(p.name for p in paths)
    if selection is None or (selection.since is None and selection.until is None):
        return names
    ends = (selection.since, selection.until)
    window = " → ".join(_clock(t) if t is not None else "…" for t in ends)
    return f"{names} ({window})"


def _clock(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment).strftime("%Y-%m-%d %H:%M")


def overview_table(result: Aggregate, rows: int = OVERVIEW_ROWS) -> str:
    """The per-route overview, worst p95 first, as text for the terminal."""
    lines = [f"{counted(result.captures, 'capture')}, {counted(len(result.routes), 'route')}"]
    header = ("ROUTE", "N", "ERR%", "P50", "P95", "P99", "CPU")
    body = []
    routes = sorted(
        result.routes.values(),
        key=lambda r: r.wall.quantile(95),
        reverse=True,
    )
    for route in routes[:rows]:
        count = route.captures or 1
        key = route.key if len(route.key) <= 48 else route.key[:47] + "…"
        body.append(
            (
                key,
                f"{route.captures:,}",
                f"{100 * route.errors / count:.1f}",
                format_seconds(route.wall.quantile(50)),
                format_seconds(route.wall.quantile(95)),
                format_seconds(route.wall.quantile(99)),
                format_seconds(route.cpu_total / count),
            )
        )
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    for row in (header, *body):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
    if len(routes) > rows:
        lines.append(f"(+{len(routes) - rows} more routes in the report)")
    return "\n".join(lines)
