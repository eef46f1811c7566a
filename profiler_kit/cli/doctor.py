"""``profiler-kit doctor``: is this installation and configuration fit to profile?"""

from __future__ import annotations

import json
from pathlib import Path

import click

from profiler_kit.cli.options import STORE_DEFAULTS

__all__ = ["doctor"]


@click.command()
@click.option(
    "--store",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Capture store to check. [default: {STORE_DEFAULTS}]",
)
@click.option(
    "--otlp-endpoint",
    metavar="URL",
    default=None,
    help="OTLP endpoint to try a TCP connection to. "
    "[default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, then $OTEL_EXPORTER_OTLP_ENDPOINT; "
    "none: not checked]",
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON object.")
@click.pass_context
def doctor(
    ctx: click.Context, store: Path | None, otlp_endpoint: str | None, as_json: bool
) -> None:
    """Check the installation, the settings, the store and the OTLP endpoint.

    \b
    Settings are read as an app started in this directory would read them
    (PROFILER_KIT_* variables, [tool.profiler-kit] in pyproject.toml), so run
    doctor with the app's environment and from its working directory.

    One line per check: ok, warn, FAIL or info; warnings and failures say what
    to do. Doctor changes nothing: the store's directory is tried with a
    temporary file, and an existing store is only opened.

    Exit status: 0 when no check failed (warnings do not fail), 1 otherwise.
    """
    from profiler_kit.doctor import format_text, run_checks, summary

    checks = run_checks(store=store, otlp=otlp_endpoint)
    counts = summary(checks)
    if as_json:
        document = {
            "ok": counts["fail"] == 0,
            "counts": counts,
            "checks": [check.as_dict() for check in checks],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        for line in format_text(checks):
            click.echo(line)
    if counts["fail"]:
        ctx.exit(1)
