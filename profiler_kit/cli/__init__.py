"""The ``profiler-kit`` command.

Subcommands live one per module and are imported only when invoked, so that
``profiler-kit run`` starts the target without paying for the imports of
commands it does not use.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from profiler_kit import __version__
from profiler_kit.errors import ProfilerKitError

__all__ = ["main", "cli"]

_COMMANDS = {
    "run": ("profiler_kit.cli.run", "run", "Profile a script or module, then report its hotspots."),
    "ls": ("profiler_kit.cli.ls", "ls", "List the captures in a store."),
    "report": ("profiler_kit.cli.report", "report", "Write the HTML hotspot report of captures."),
    "collect": ("profiler_kit.cli.collect", "collect", "Merge stores from many workers or hosts."),
    "token": ("profiler_kit.cli.token", "token", "Print a signed, expiring trigger token."),
    "export": (
        "profiler_kit.cli.export",
        "export",
        "Export captures to speedscope, collapsed stacks, pprof or OTLP.",
    ),
    "bench": ("profiler_kit.cli.bench", "bench", "Measure a script or endpoints reproducibly."),
    "baseline": ("profiler_kit.cli.baseline", "baseline", "Save a bench run as a baseline file."),
    "check": ("profiler_kit.cli.check", "check", "Check a bench run against a baseline (CI)."),
    "doctor": (
        "profiler_kit.cli.doctor",
        "doctor",
        "Check the installation and configuration; say what to fix.",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module_name, attribute, _ = _COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every command module.
        rows = [(name, help_text) for name, (_, _, help_text) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProfilerKitError as error:
            click.echo(f"profiler-kit: error: {error}", err=True)
            ctx.exit(error.exit_code)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="profiler-kit")
def cli() -> None:
    """Profile Python scripts and web requests; keep the captures; report hotspots.

    \b
    Quick start:
      profiler-kit run examples/hotspots.py      # profile a script, write an HTML report
      profiler-kit run --memory -m mypackage     # CPU and memory of a module
      profiler-kit ls                            # what the store holds
      profiler-kit report -o report.html         # report of the latest capture

    Captures go to .profiler-kit/captures.sqlite3 unless --store or
    PROFILER_KIT_STORE says otherwise.
    """


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="profiler-kit")
