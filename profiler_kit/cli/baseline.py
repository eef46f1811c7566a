"""``profiler-kit baseline save``: a bench run as a baseline file for ``check``."""

from __future__ import annotations

from pathlib import Path

import click

from profiler_kit.cli.options import resolve_store, store_option

__all__ = ["baseline"]


@click.group()
def baseline() -> None:
    """Baseline files for `profiler-kit check`."""


@baseline.command("save")
@click.argument("stores", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@store_option
@click.option("--run", "run_id", metavar="ID", help="The bench run to save. [default: newest]")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=Path("baseline.json"),
    show_default=True,
    help="The baseline file to write (- for standard output).",
)
def save(stores: tuple[Path, ...], store: Path | None, run_id: str | None, output: Path) -> None:
    """Save a bench run of STORES as a baseline file.

    The file holds every timing sample, every count and each target's CPU
    profile, so it is all `profiler-kit check` needs on another machine or
    branch (keep it as a CI artifact of the main branch).

    \b
    Example:
      profiler-kit bench --app shop:app --request 'GET /checkout' --repeat 30
      profiler-kit baseline save -o baseline.json
    """
    from profiler_kit.check.baseline import latest_run, save_baseline

    paths = list(stores) or [resolve_store(store)]
    chosen, targets = latest_run(paths, run_id)
    save_baseline(output, chosen, targets)
    click.echo(
        f"baseline of bench run {chosen} ({len(targets)} targets) written to {output}", err=True
    )
