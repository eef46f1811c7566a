"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.config import DEFAULT_STORE, load_settings
from profiler_kit.errors import ProfilerKitError

__all__ = [
    "STORE_DEFAULTS",
    "open_option",
    "output_option",
    "resolve_store",
    "store_option",
    "write_report",
]

F = TypeVar("F", bound=Callable[..., Any])

STORE_DEFAULTS = (
    "$PROFILER_KIT_STORE, then [tool.profiler-kit] store in pyproject.toml, "
    f"then {DEFAULT_STORE.as_posix()}"
)
"""Where a command looks for its store when ``--store`` is not given, in order."""


def store_option(function: F) -> F:
    decorator = click.option(
        "--store",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"Capture store file. [default: {STORE_DEFAULTS}]",
    )
    return decorator(function)


def resolve_store(store: Path | None) -> Path:
    """The store path after settings layering, made absolute."""
    return load_settings({"store": store}).store.absolute()


def output_option(function: F) -> F:
    decorator = click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=Path("profiler-kit-report.html"),
        show_default=True,
        help="Where to write the HTML report.",
    )
    return decorator(function)


def open_option(function: F) -> F:
    decorator = click.option(
        "--open", "open_browser", is_flag=True, help="Open the HTML report in a browser."
    )
    return decorator(function)


def write_report(view: CaptureView, output: Path, *, open_browser: bool = False) -> None:
    """Write a capture's HTML report; an unwritable path is a clear error, not a traceback."""
    from profiler_kit.reports import write_capture_report

    try:
        write_capture_report(view, output)
    except OSError as error:
        raise ProfilerKitError(f"cannot write the report to {output}: {error.strerror}") from error
    if open_browser:
        import webbrowser

        webbrowser.open(output.absolute().as_uri())
