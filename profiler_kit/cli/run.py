"""``profiler-kit run``: profile a script or module, store it, report it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.capture.memory import memory_unavailable_reason
from profiler_kit.cli.options import (
    open_option,
    output_option,
    resolve_store,
    store_option,
    write_report,
)
from profiler_kit.errors import MemoryUnavailableError
from profiler_kit.script.runner import Target, run_target
from profiler_kit.store import open_store

__all__ = ["run"]

EXIT_MEMORY_INCOMPLETE = 3


class _TargetCommand(click.Command):
    """Everything after the script, or after ``-m MODULE``, belongs to the target.

    click would otherwise read ``run -m pkg --help`` as a request for our help.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        takes_value = {
            name
            for param in self.params
            if isinstance(param, click.Option) and not param.is_flag
            for name in param.opts
        }
        index = 0
        while index < len(args):
            arg = args[index]
            if arg == "--" or not arg.startswith("-"):
                break
            if arg == "-m" and index + 1 < len(args):
                args = [*args[: index + 2], "--", *args[index + 2 :]]
                break
            if arg.startswith("-m") and not arg.startswith("--"):
                args = [*args[:index], "-m", arg[2:], "--", *args[index + 1 :]]
                break
            # An option's value may look like anything: skip it.
            index += 2 if arg in takes_value else 1
        return super().parse_args(ctx, args)


@click.command(
    cls=_TargetCommand,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "-m", "module", metavar="MODULE", help="Run a library module as a script, like python -m."
)
@click.option(
    "--memory/--no-memory",
    default=False,
    help="Also track allocations with memray: peak, totals, top sites and what was left at exit.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.0001, max=1.0),
    default=0.001,
    show_default=True,
    help="Seconds between CPU samples.",
)
@output_option
@click.option("--no-report", is_flag=True, help="Store the capture and print the summary only.")
@open_option
@click.option(
    "--top", type=click.IntRange(min=1), default=10, show_default=True, help="Rows per table."
)
@click.option("-q", "--quiet", is_flag=True, help="Print no summary, only errors.")
@store_option
@click.argument("script", required=False, type=click.UNPROCESSED)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(
    module: str | None,
    memory: bool,
    interval: float,
    output: Path,
    no_report: bool,
    open_browser: bool,
    top: int,
    quiet: bool,
    store: Path | None,
    script: str | None,
    args: tuple[str, ...],
) -> None:
    """Profile SCRIPT (or -m MODULE) with ARGS, exactly as python would run it.

    The target keeps its stdin and stdout; the summary goes to stderr. The
    exit status is the target's own. Ctrl-C stops the target and still saves
    what was profiled.

    \b
    Examples:
      profiler-kit run examples/hotspots.py --size 3
      profiler-kit run --memory -o mem.html examples/hotspots.py
      profiler-kit run -m http.server --help
    """
    if module and script is not None:
        args = (script, *args)
        script = None
    if not module and script is None:
        raise click.UsageError("give a script to profile, or -m MODULE")
    if memory and (reason := memory_unavailable_reason()):
        raise MemoryUnavailableError(f"--memory is unavailable: {reason}")

    target = Target(script=script, module=module, args=args)
    target.check()
    store_path = resolve_store(store)
    output = output.absolute()  # the target may change directory
    with open_store(store_path) as capture_store:  # refuse a bad store before running anything
        result = run_target(target, interval=interval, memory=memory)
        if result.in_child:
            sys.exit(result.exit_code)  # a forked child of the target: the parent reports

        from profiler_kit.script.capture import capture_from_run, summarise_memory

        memory_summary = summarise_memory(result)
        capture = capture_from_run(target, result, memory_summary, interval=interval)
        capture_store.add(capture)

    view = CaptureView.load(capture)
    if not quiet:
        from profiler_kit.script.summary import render_summary

        click.echo("", err=True)
        click.echo(render_summary(view, top=top), err=True)
        if result.interrupted:
            click.echo("  interrupted by Ctrl-C: the profile covers what ran until then", err=True)
        click.echo(f"\nCapture {capture.id} saved to {_display(store_path)}", err=True)
    if not no_report:
        write_report(view, output, open_browser=open_browser)
        if not quiet:
            click.echo(f"Report: {_display(output)}", err=True)
    exit_code = result.exit_code
    if memory and result.forks:
        click.echo(
            f"profiler-kit: the target forked {result.forks} process(es); the memory figures "
            "cover the parent only (memray follows one process). Exit status "
            f"{EXIT_MEMORY_INCOMPLETE} marks the memory capture as incomplete.",
            err=True,
        )
        exit_code = exit_code or EXIT_MEMORY_INCOMPLETE
    sys.exit(exit_code)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
