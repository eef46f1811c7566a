"""``profiler-kit report``: hotspots across captures, or the view of one capture."""

from __future__ import annotations

from pathlib import Path

import click

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.cli.options import (
    open_option,
    output_option,
    resolve_store,
    store_option,
    write_report,
)
from profiler_kit.cli.selection import parse_moment, selection_from, selection_options
from profiler_kit.errors import CaptureNotFoundError, ProfilerKitError
from profiler_kit.store import Selection, open_store

__all__ = ["report"]


@click.command()
@click.argument("stores", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@store_option
@click.option(
    "--capture",
    "capture_id",
    metavar="ID",
    help="Report one capture (an id or a unique prefix) instead of all of them.",
)
@click.option("--latest", is_flag=True, help="Report the latest capture alone.")
@selection_options
@click.option(
    "--baseline",
    "baselines",
    multiple=True,
    metavar="STORE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Compare with the captures of this store (repeatable): a diff report.",
)
@click.option(
    "--baseline-since",
    metavar="WHEN",
    help="Baseline window start; with no --baseline, the same stores are compared "
    "across two time windows.",
)
@click.option("--baseline-until", metavar="WHEN", help="Baseline window end.")
@output_option
@open_option
def report(
    stores: tuple[Path, ...],
    store: Path | None,
    capture_id: str | None,
    latest: bool,
    route: str | None,
    since: str | None,
    until: str | None,
    service: str | None,
    min_duration: str | None,
    baselines: tuple[Path, ...],
    baseline_since: str | None,
    baseline_until: str | None,
    output: Path,
    open_browser: bool,
) -> None:  # fmt: skip
    """Write a self-contained HTML report of the captures in STORES.

    By default every capture is aggregated per route: latency percentiles,
    merged flame graphs, hot functions, memory and the slowest captures.
    With --baseline (or --baseline-since/--baseline-until on the same
    stores) the report also shows what got slower or faster.

    \b
    Examples:
      profiler-kit report -o report.html
      profiler-kit report worker-*.sqlite3 --route '/api/*' --since 2h
      profiler-kit report --baseline main.sqlite3 branch.sqlite3 -o diff.html
      profiler-kit report --latest
    """
    paths = list(stores) or [resolve_store(store)]
    if capture_id or latest:
        _single(paths, capture_id, output, open_browser)
        return
    selection = selection_from(route, since, until, service, min_duration)
    baseline_selection = None
    if baselines or baseline_since or baseline_until:
        baseline_selection = Selection(
            route=selection.route,
            service=selection.service,
            min_duration_s=selection.min_duration_s,
            since=parse_moment(baseline_since) if baseline_since else None,
            until=parse_moment(baseline_until) if baseline_until else None,
        )
    from profiler_kit.cli.aggregate_report import build_and_write

    overview = build_and_write(
        paths,
        selection,
        list(baselines) or (paths if baseline_selection else []),
        baseline_selection,
        output,
    )
    click.echo(overview, err=True)
    write_report_opened(output, open_browser)


def write_report_opened(output: Path, open_browser: bool) -> None:
    click.echo(f"Report: {output}", err=True)
    if open_browser:
        import webbrowser

        webbrowser.open(output.absolute().as_uri())


def _single(paths: list[Path], capture_id: str | None, output: Path, open_browser: bool) -> None:
    for index, path in enumerate(paths):
        with open_store(path, create=False) as capture_store:
            try:
                capture = capture_store.get(capture_id) if capture_id else capture_store.latest()
            except CaptureNotFoundError:
                if index == len(paths) - 1:
                    raise
                continue
        write_report(CaptureView.load(capture), output, open_browser=open_browser)
        click.echo(f"Report of capture {capture.id} ({capture.target}): {output}")
        return
    raise ProfilerKitError("no store given")  # pragma: no cover - paths is never empty
