"""``profiler-kit bench``: measure scripts or an app's endpoints, store the results."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from profiler_kit.cli.options import resolve_store, store_option
from profiler_kit.units import counted

if TYPE_CHECKING:
    from profiler_kit.check.rounds import BenchResult

__all__ = ["bench"]


@click.command()
@click.argument("script", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED)
@click.option("--app", "app_ref", metavar="MODULE:APP", help="A WSGI or ASGI app to call.")
@click.option(
    "--request",
    "requests",
    multiple=True,
    metavar="'METHOD /path [@body-file]'",
    help="An endpoint of --app to measure (repeatable), e.g. 'GET /checkout' or "
    "'POST /cart @body.json'.",
)
@click.option(
    "--repeat",
    type=click.IntRange(1, 100_000),
    default=20,
    show_default=True,
    help="Timed runs of each target.",
)
@click.option(
    "--warmup",
    type=click.IntRange(0, 10_000),
    default=3,
    show_default=True,
    help="Untimed runs of each target first (caches, imports, JIT-like warm-up).",
)
@click.option(
    "--memory/--no-memory",
    default=True,
    show_default=True,
    help="Count allocations with memray (one extra run per target).",
)
@click.option(
    "--instructions/--no-instructions",
    default=False,
    show_default=True,
    help="Also count each target's CPU instructions under valgrind: a CPU cost that "
    "machine noise cannot move (slow: a counted call runs about 80 times slower).",
)
@store_option
@click.option("--service", metavar="NAME", default="bench", show_default=True)
def bench(
    script: Path | None,
    script_args: tuple[str, ...],
    app_ref: str | None,
    requests: tuple[str, ...],
    repeat: int,
    warmup: int,
    memory: bool,
    instructions: bool,
    store: Path | None,
    service: str,
) -> None:
    """Measure a script or an app's endpoints reproducibly; store the results.

    Timings (wall and CPU) are taken --repeat times per target, interleaved
    across targets after --warmup untimed runs. Counts that machine noise
    cannot move are taken in separate runs: Python function calls,
    allocations and allocated bytes (memray), garbage collections, SQL
    queries (Django ORM, SQLAlchemy), and with --instructions the CPU
    instructions of one call (valgrind). Endpoints are called in process through
    the app's WSGI or ASGI interface: no server, no network. Arguments for
    the script go after `--`.

    \b
    Examples:
      profiler-kit bench examples/hotspots.py --repeat 20
      profiler-kit bench examples/hotspots.py --repeat 20 -- --size 2000
      profiler-kit bench --app shop.main:app --request 'GET /checkout' \\
          --request 'POST /cart @cart.json' --repeat 30
      profiler-kit baseline save -o baseline.json      # then, on a branch:
      profiler-kit check --baseline baseline.json
    """
    from profiler_kit.check.rounds import bench_captures, run_bench, steps
    from profiler_kit.check.workloads import build_workloads
    from profiler_kit.store import open_store
    from profiler_kit.store.ids import new_capture_id

    if script is None and app_ref is None:
        raise click.UsageError("give a SCRIPT, or --app MODULE:APP with --request 'GET /path'")
    if requests and app_ref is None:
        raise click.UsageError("--request needs --app MODULE:APP")
    if app_ref is not None and not requests:
        raise click.UsageError("--app needs at least one --request 'METHOD /path'")
    if instructions:
        from profiler_kit.check.instructions import require_valgrind

        require_valgrind()  # before minutes of timing, not after (also checks the CPU)
    workloads = build_workloads(script, list(script_args), app_ref, list(requests))
    store_path = resolve_store(store)
    with click.progressbar(
        length=steps(len(workloads), repeat, warmup),
        label="benchmarking",
        file=sys.stderr,
    ) as bar:
        results = run_bench(
            workloads,
            repeat=repeat,
            warmup=warmup,
            memory=memory,
            progress=lambda step: bar.update(1),
        )
    if instructions:
        _count_instructions(results, script, script_args, app_ref, requests)
    run_id = new_capture_id()
    captures = bench_captures(results, run_id=run_id, service=service, repeat=repeat, warmup=warmup)
    store_path.parent.mkdir(parents=True, exist_ok=True)
    with open_store(store_path) as capture_store:
        capture_store.add_many(captures)
    _print_table(results)
    stored = counted(len(captures), "target")
    click.echo(f"bench run {run_id}: {stored} stored in {store_path}", err=True)


def _count_instructions(
    results: list[BenchResult],
    script: Path | None,
    script_args: tuple[str, ...],
    app_ref: str | None,
    requests: tuple[str, ...],
) -> None:
    from profiler_kit.check.instructions import InstructionRecipe, count_instructions

    recipe = InstructionRecipe(
        script=str(script) if script is not None else None,
        script_args=script_args,
        app=app_ref,
        requests=requests,
    )
    click.echo("counting instructions under valgrind...", err=True)
    counts = count_instructions(recipe)
    for result, count in zip(results, counts, strict=True):
        result.counts["instructions"] = count


def _print_table(results: list[BenchResult]) -> None:
    from profiler_kit.units import format_seconds

    header = (
        f"{'TARGET':40} {'WALL':>10} {'CPU':>10} {'SPREAD':>7} {'CALLS':>9} {'ALLOCS':>9}"
        f" {'INSTR':>13}"
    )
    click.echo(header)
    for result in results:
        wall = statistics.median(result.wall_s)
        cpu = statistics.median(result.cpu_s)
        spread = (max(result.wall_s) - min(result.wall_s)) / wall * 100 if wall else 0.0
        counts = result.counts
        click.echo(
            f"{result.workload.name[:40]:40} {format_seconds(wall):>10} {format_seconds(cpu):>10}"
            f" {spread:6.1f}% {counts.get('calls', '-'):>9} {counts.get('allocations', '-'):>9}"
            f" {counts.get('instructions', '-'):>13}"
        )
        for note in result.notes:
            click.echo(f"  note: {note}", err=True)
