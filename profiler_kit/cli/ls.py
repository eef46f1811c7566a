"""``profiler-kit ls``: what the store holds."""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

import click

from profiler_kit.cli.options import resolve_store, store_option
from profiler_kit.store import CaptureSummary, open_store
from profiler_kit.units import format_bytes, format_seconds

__all__ = ["ls"]


@click.command()
@store_option
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Show at most this many captures, newest first.",
)
@click.option("--all", "show_all", is_flag=True, help="Show every capture.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON, one object per capture, with every stored summary field.",
)
def ls(store: Path | None, limit: int, show_all: bool, as_json: bool) -> None:
    """List captures: id, kind, when, target, duration, CPU time, peak memory."""
    with open_store(resolve_store(store), create=False) as capture_store:
        summaries = capture_store.summaries(None if show_all else limit)
        total = capture_store.count()
    if as_json:
        click.echo(json.dumps([_as_dict(s) for s in summaries], indent=2))
        return
    if not summaries:
        click.echo("no captures yet: try `profiler-kit run script.py`")
        return
    rows: list[tuple[str, ...]] = [("ID", "KIND", "WHEN", "TARGET", "WALL", "CPU", "PEAK MEM")]
    rows += [_row(s) for s in summaries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    widths[3] = min(widths[3], 48)
    for row in rows:
        cells = [
            cell if len(cell) <= widths[i] else cell[: widths[i] - 1] + "…"
            for i, cell in enumerate(row)
        ]
        click.echo(
            "  ".join(
                cell.ljust(widths[i]) if i < 4 else cell.rjust(widths[i])
                for i, cell in enumerate(cells)
            ).rstrip()
        )
    if len(summaries) < total:
        click.echo(f"({len(summaries)} of {total} captures shown; --all shows every one)")


def _when(started_at: float) -> str:
    moment = datetime.datetime.fromtimestamp(started_at)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _target(summary: CaptureSummary) -> str:
    if summary.kind == "request" and summary.method:
        return f"{summary.method} {summary.route or summary.path or ''}".strip()
    return summary.target


def _row(summary: CaptureSummary) -> tuple[str, ...]:
    return (
        summary.id,
        summary.kind,
        _when(summary.started_at),
        _target(summary),
        format_seconds(summary.wall_s),
        format_seconds(summary.cpu_s),
        format_bytes(summary.peak_memory),
    )


def _as_dict(summary: CaptureSummary) -> dict[str, object]:
    """Every stored summary field, so a script needs no second query.

    What a capture keeps in ``extra`` (GC time and collections, RSS at the
    start and end, the framework, ...) is listed beside the columns, at the
    top level, where ``jq`` finds it; a column wins over an ``extra`` key of
    the same name. ``target`` is the readable target ``ls`` shows.
    """
    listed: dict[str, object] = {}
    for column in dataclasses.fields(summary):
        if column.name != "extra":
            listed[column.name] = getattr(summary, column.name)
    listed["started_at"] = datetime.datetime.fromtimestamp(
        summary.started_at, tz=datetime.UTC
    ).isoformat()
    listed["target"] = _target(summary)
    for key, value in summary.extra.items():
        listed.setdefault(key, value)
    return listed
