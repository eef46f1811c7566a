"""``profiler-kit report``: the HTML report of one capture."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from profiler_kit.capture_view import CaptureView
from profiler_kit.cli.options import resolve_store, store_option
from profiler_kit.errors import ProfilerKitError
from profiler_kit.report import write_capture_report
from profiler_kit.store import open_store

__all__ = ["report"]


@click.command()
@store_option
@click.option(
    "--capture",
    "capture_id",
    metavar="ID",
    help="Capture id, or a unique prefix of one. [default: the latest]",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("profiler-kit-report.html"),
    show_default=True,
    help="Where to write the HTML report.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the report in a browser.")
def report(store: Path | None, capture_id: str | None, output: Path, open_browser: bool) -> None:
    """Write the self-contained HTML report of one capture (the latest by default)."""
    with open_store(resolve_store(store), create=False) as capture_store:
        capture = capture_store.get(capture_id) if capture_id else capture_store.latest()
    view = CaptureView.load(capture)
    try:
        write_capture_report(view, output)
    except OSError as error:
        raise ProfilerKitError(f"cannot write the report to {output}: {error.strerror}") from error
    click.echo(f"Report of capture {capture.id} ({capture.target}): {output}")
    if open_browser:
        webbrowser.open(output.absolute().as_uri())
