"""``profiler-kit report``: the HTML report of one capture."""

from __future__ import annotations

from pathlib import Path

import click

from profiler_kit.capture_view import CaptureView
from profiler_kit.cli.options import (
    open_option,
    output_option,
    resolve_store,
    store_option,
    write_report,
)
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
@output_option
@open_option
def report(store: Path | None, capture_id: str | None, output: Path, open_browser: bool) -> None:
    """Write the self-contained HTML report of one capture (the latest by default)."""
    with open_store(resolve_store(store), create=False) as capture_store:
        capture = capture_store.get(capture_id) if capture_id else capture_store.latest()
    write_report(CaptureView.load(capture), output, open_browser=open_browser)
    click.echo(f"Report of capture {capture.id} ({capture.target}): {output}")
