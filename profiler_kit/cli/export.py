"""``profiler-kit export``: captures as files that other profilers' tools open.

Each format is a subcommand of the ``export`` group. They share how captures
are chosen (:func:`capture_choice_options`, giving a :class:`CaptureChoice`)
and how the file is written (:func:`write_export`), so a new format is one
small command. A subcommand that lives in another module is registered with
one line in ``_SUBCOMMANDS`` (its module is imported only when it is used),
or with ``export.add_command(command)``.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import click

from profiler_kit.analysis.sources import count_captures, iter_captures
from profiler_kit.cli.options import resolve_store, store_option
from profiler_kit.cli.selection import selection_from, selection_options
from profiler_kit.errors import ProfilerKitError
from profiler_kit.export.collapsed import UNITS, Unit
from profiler_kit.export.stacks import MergedStacks, merge_captures
from profiler_kit.store import Selection
from profiler_kit.store.record import Capture
from profiler_kit.units import counted

__all__ = [
    "CaptureChoice",
    "capture_choice_options",
    "export",
    "output_file_option",
    "write_export",
]

F = TypeVar("F", bound=Callable[..., Any])

# Subcommands defined in other modules: name -> (module, attribute, one-line help).
_SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "otlp": (
        "profiler_kit.cli.export_otlp",
        "otlp",
        "Send captures to an OpenTelemetry collector as spans.",
    ),
}

_FILTERS = "--route/--since/--until/--service/--min-duration"


class _ExportGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _SUBCOMMANDS and cmd_name not in self.commands:
            module_name, attribute, _ = _SUBCOMMANDS[cmd_name]
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_ExportGroup)
def export() -> None:
    """Export captures to files that other profilers' tools open.

    Every selected capture is merged into one profile: its stacks and their
    wall-clock time (what pyinstrument samples). Choose captures as for
    `profiler-kit report`: STORES (default: the usual store), --capture ID
    (repeatable), --latest, or filters. -o - writes to standard output.

    \b
    Examples:
      profiler-kit export speedscope --latest -o run.speedscope.json
      profiler-kit export collapsed --route '/api/*' -o - | inferno-flamegraph > api.svg
      profiler-kit export pprof worker-*.sqlite3 --since 2h -o last-2h.pb.gz
    """


@dataclass(frozen=True)
class CaptureChoice:
    """Which captures an export reads, as given on the command line."""

    stores: list[Path]
    capture_ids: tuple[str, ...]
    latest: bool
    selection: Selection
    filtered: bool

    def _chosen(self) -> dict[str, Any]:
        return {
            "selection": self.selection,
            "capture_ids": self.capture_ids,
            "latest": self.latest,
        }

    def captures(self) -> Iterator[Capture]:
        """The chosen captures one at a time, for an export that handles each alone."""
        return iter_captures(self.stores, **self._chosen())

    def count(self) -> int:
        """How many captures :meth:`captures` will give (for a progress bar)."""
        return count_captures(self.stores, **self._chosen())

    def merge(self) -> MergedStacks:
        """The chosen captures merged; choosing none is an error that says what to check."""
        merged = merge_captures(self.stores, **self._chosen())
        if not merged.captures:
            self.raise_empty(merged.skipped)
        return merged

    def raise_empty(self, skipped: Sequence[str] = ()) -> NoReturn:
        """The error for a choice that gave nothing: what was looked at, and what to do."""
        where = ", ".join(str(path) for path in self.stores)
        if skipped:
            raise ProfilerKitError(
                f"the {len(skipped)} selected capture(s) in {where} could not be read: "
                + "; ".join(skipped[:3])
            )
        if self.filtered:
            raise ProfilerKitError(
                f"no captures in {where} match the {_FILTERS} filters: widen them "
                "(profiler-kit ls lists what is stored)"
            )
        raise ProfilerKitError(
            f"{where} holds no captures yet: profile something first "
            "(profiler-kit run script.py), or give the store that holds them"
        )


def capture_choice_options(function: F) -> F:
    """STORES, --store, --capture, --latest and the filters, passed on as ``choice``."""

    @functools.wraps(function)
    def wrapper(
        *args: Any,
        stores: tuple[Path, ...],
        store: Path | None,
        capture_ids: tuple[str, ...],
        latest: bool,
        route: str | None,
        since: str | None,
        until: str | None,
        service: str | None,
        min_duration: str | None,
        **kwargs: Any,
    ) -> Any:
        filters = (route, since, until, service, min_duration)
        filtered = any(value is not None for value in filters)
        if capture_ids and latest:
            raise click.UsageError("give --capture or --latest, not both")
        if (capture_ids or latest) and filtered:
            raise click.UsageError(
                f"--capture and --latest choose captures themselves: give them or the {_FILTERS} "
                "filters, not both"
            )
        choice = CaptureChoice(
            stores=list(stores) or [resolve_store(store)],
            capture_ids=capture_ids,
            latest=latest,
            selection=selection_from(*filters),
            filtered=filtered,
        )
        return function(*args, choice=choice, **kwargs)

    decorators = [
        click.argument("stores", nargs=-1, type=click.Path(dir_okay=False, path_type=Path)),
        store_option,
        click.option(
            "--capture",
            "capture_ids",
            multiple=True,
            metavar="ID",
            help="Export this capture (an id or a unique prefix); repeat to merge several.",
        ),
        click.option("--latest", is_flag=True, help="Export the latest capture alone."),
        selection_options,
    ]
    for decorator in reversed(decorators):
        wrapper = decorator(wrapper)
    return wrapper  # type: ignore[return-value]


def output_file_option(default: str, what: str) -> Callable[[F], F]:
    """``-o/--output FILE`` with a default name; ``-`` is standard output."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
        default=Path(default),
        show_default=True,
        help=f"Where to write the {what}; - writes it to standard output.",
    )


def write_export(data: bytes, output: Path, *, stacks: int, merged: MergedStacks) -> None:
    """Write the file (or stdout), then one summary line on stderr."""
    if str(output) == "-":
        stream = sys.stdout.buffer
        stream.write(data)
        stream.flush()
        where = "standard output"
    else:
        try:
            output.write_bytes(data)
        except OSError as error:
            reason = error.strerror or str(error)
            raise ProfilerKitError(f"cannot write {output}: {reason}") from error
        where = str(output)
    if merged.skipped:
        click.echo(
            f"profiler-kit: warning: {len(merged.skipped)} capture(s) could not be read "
            "and were left out:",
            err=True,
        )
        for line in merged.skipped[:10]:
            click.echo(f"  {line}", err=True)
    click.echo(
        f"wrote {counted(stacks, 'stack')} from {counted(merged.captures, 'capture')} to {where}",
        err=True,
    )


@export.command("speedscope", short_help="speedscope JSON (speedscope.app, speedscope CLI).")
@capture_choice_options
@output_file_option("profile.speedscope.json", "speedscope JSON file")
def speedscope(choice: CaptureChoice, output: Path) -> None:
    """Write a speedscope file: open it at https://www.speedscope.app or run `speedscope FILE`.

    One "sampled" profile whose samples are the merged stacks, weighted in
    seconds of wall-clock time.

    \b
    Example:
      profiler-kit export speedscope --latest -o run.speedscope.json
      speedscope run.speedscope.json
    """
    from profiler_kit.export.speedscope import render_speedscope

    merged = choice.merge()
    write_export(render_speedscope(merged), output, stacks=len(merged.weights), merged=merged)


@export.command("collapsed", short_help="Collapsed stacks (flamegraph.pl, inferno).")
@capture_choice_options
@click.option(
    "--unit",
    type=click.Choice(UNITS),
    default="microseconds",
    show_default=True,
    help="What each line's integer count is: wall-clock microseconds, or samples taken.",
)
@output_file_option("profile.collapsed.txt", "collapsed stacks")
def collapsed(choice: CaptureChoice, unit: str, output: Path) -> None:
    """Write collapsed stacks for flamegraph.pl or inferno-flamegraph.

    One line per distinct stack, root first: `f (file:line);g (file:line) COUNT`.
    COUNT is an integer: by default the wall-clock microseconds spent in that
    stack (pyinstrument measures wall time), with --unit samples the number of
    samples. ';' inside a name is written as ',' and unprintable characters
    (newlines, tabs) as \\n-style escapes, so every stack stays one line.

    \b
    Example:
      profiler-kit export collapsed --since 1h -o stacks.txt
      flamegraph.pl stacks.txt > flame.svg     # or: inferno-flamegraph < stacks.txt
    """
    from profiler_kit.export.collapsed import render_collapsed

    merged = choice.merge()
    data = render_collapsed(merged, cast(Unit, unit))
    write_export(data, output, stacks=data.count(b"\n"), merged=merged)


@export.command("pprof", short_help="Gzipped pprof profile.proto (go tool pprof, Pyroscope).")
@capture_choice_options
@output_file_option("profile.pb.gz", "gzipped pprof profile")
def pprof(choice: CaptureChoice, output: Path) -> None:
    """Write a gzipped pprof profile (profile.proto) for go tool pprof or Pyroscope.

    Sample types: samples/count and wall/nanoseconds (the default: the
    wall-clock time pyinstrument measured, not CPU time).

    \b
    Example:
      profiler-kit export pprof --route '/checkout' -o checkout.pb.gz
      go tool pprof -http=: checkout.pb.gz
    """
    from profiler_kit.export.pprof import render_pprof

    if str(output) == "-" and sys.stdout.isatty():
        raise ProfilerKitError("pprof is binary: redirect standard output, or give -o FILE")
    merged = choice.merge()
    write_export(render_pprof(merged), output, stacks=len(merged.weights), merged=merged)
