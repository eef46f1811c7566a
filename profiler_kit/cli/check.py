"""``profiler-kit check``: fail CI on a real performance regression, and only then."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from profiler_kit.cli.options import resolve_store, store_option
from profiler_kit.errors import ProfilerKitError

if TYPE_CHECKING:
    from profiler_kit.check.baseline import BenchTarget

__all__ = ["check"]

REGRESSION_EXIT = 1


@click.command()
@click.argument("stores", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--baseline",
    "baseline_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Baseline file from `profiler-kit baseline save`.",
)
@store_option
@click.option("--run", "run_id", metavar="ID", help="The bench run to check. [default: newest]")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json", "junit"]),
    default="text",
    show_default=True,
    help="Output format (Markdown also goes to $GITHUB_STEP_SUMMARY when that is set).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=Path("-"),
    help="Write the result here instead of standard output.",
)
@click.option("--wall-threshold", type=float, help="Slowdown of median wall time to flag. [0.05]")
@click.option("--cpu-threshold", type=float, help="Slowdown of median CPU time to flag. [0.05]")
@click.option("--alpha", type=float, help="Significance level of the timing test. [0.01]")
@click.option(
    "--count-tolerance",
    type=float,
    help="Growth of every count to tolerate (per-count defaults: calls and queries 0, "
    "allocations 0.005, allocated bytes 0.02, peak 0.10, GC 0.25, instructions 0.01).",
)
@click.option(
    "--timings",
    type=click.Choice(["auto", "gate", "report"]),
    help="Whether wall and CPU timings can fail the check: auto (the default) unless "
    "both runs counted --instructions, gate always, report never.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("profiler-kit-check.html"),
    show_default=True,
    help="Where the diff report goes when something regressed.",
)
def check(
    stores: tuple[Path, ...],
    baseline_path: Path,
    store: Path | None,
    run_id: str | None,
    output_format: str,
    output: Path,
    wall_threshold: float | None,
    cpu_threshold: float | None,
    alpha: float | None,
    count_tolerance: float | None,
    timings: str | None,
    report_path: Path,
) -> None:
    """Compare the newest bench run in STORES with a baseline; exit 1 on a regression.

    A timing regresses only when it is both significantly slower (one-sided
    Mann-Whitney test, p < alpha) and slower by more than the threshold, so
    noise does not fail builds. Counts (function calls, allocations, GC,
    queries, and instructions from bench --instructions) are compared
    exactly, within a tolerance; with instruction counts on both sides the
    timings are shown but do not gate (--timings). Settings also come from
    [tool.profiler-kit.check] in pyproject.toml.

    Exit status: 0 pass, 1 regression, 2 usage or input error. On a
    regression the functions whose share grew most are named and a diff
    report (HTML) is written.

    \b
    Example:
      profiler-kit bench --app shop:app --request 'GET /checkout' --repeat 30
      profiler-kit check --baseline baseline.json --format junit -o perf.xml
    """
    from profiler_kit.check.baseline import latest_run, load_baseline
    from profiler_kit.check.compare import compare_runs
    from profiler_kit.check.config import load_check_settings
    from profiler_kit.check.report_formats import render, render_markdown

    settings = load_check_settings(
        {
            "wall_threshold": wall_threshold,
            "cpu_threshold": cpu_threshold,
            "alpha": alpha,
            "count_tolerance": count_tolerance,
            "timings": timings,
        }
    )
    baseline = load_baseline(baseline_path)
    paths = list(stores) or [resolve_store(store)]
    _, current = latest_run(paths, run_id)
    result = compare_runs(baseline.targets, current, settings)
    text = render(result, output_format)  # type: ignore[arg-type]
    _write(output, text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as step_summary:
                step_summary.write(render_markdown(result) + "\n")
        except OSError as error:
            click.echo(f"profiler-kit: warning: cannot append to {summary}: {error}", err=True)
    if not result.passed:
        regressed = [t for t in result.targets if t.regressed]
        if regressed:
            _diff_report(baseline.targets, current, [t.name for t in regressed], report_path)
        raise SystemExit(REGRESSION_EXIT)


def _write(output: Path, text: str) -> None:
    if str(output) == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ProfilerKitError(f"cannot write {output}: {error.strerror}") from error
    click.echo(f"check result written to {output}", err=True)


def _diff_report(
    baseline: Mapping[str, BenchTarget],
    current: Mapping[str, BenchTarget],
    names: list[str],
    output: Path,
) -> None:
    """The aggregate diff report of the regressed targets, baseline against current."""
    from profiler_kit.check.baseline import write_targets
    from profiler_kit.cli.aggregate_report import build_and_write
    from profiler_kit.store import Selection

    with tempfile.TemporaryDirectory(prefix="profiler-kit-check-") as scratch:
        before = Path(scratch) / "baseline.sqlite3"
        after = Path(scratch) / "current.sqlite3"
        write_targets(before, [baseline[n] for n in names if baseline[n].profile])
        write_targets(after, [current[n] for n in names if current[n].profile])
        try:
            build_and_write([after], Selection(), [before], None, output)
        except ProfilerKitError as error:
            click.echo(f"profiler-kit: warning: no diff report: {error}", err=True)
            return
    click.echo(f"diff report of the regressed targets: {output}", err=True)
