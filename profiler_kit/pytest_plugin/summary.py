"""The terminal summary's sections: every measured test against its budget, and the check.

A passing test's figures are shown too, so a budget can be set with the
measured headroom in view.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from profiler_kit.pytest_plugin.budget import format_limit
from profiler_kit.pytest_plugin.measure import format_amount
from profiler_kit.pytest_plugin.records import MeasuredTest

if TYPE_CHECKING:
    from profiler_kit.check.result import CheckResult

__all__ = ["budget_line", "write_budgets", "write_check"]


def budget_line(record: MeasuredTest) -> str:
    """``ok   test_x.py::test_y: wall 1.2 ms <= 100 ms, ...``; ``OVER`` when over budget."""
    budget, measurement = record.budget, record.measurement
    counts = measurement.counts
    figures = [
        _figure("wall", measurement.wall_ms, budget.wall_ms, " ms"),
        _figure("cpu", measurement.cpu_ms, budget.cpu_ms, " ms"),
    ]
    peak = measurement.peak_mib
    if peak is not None:
        figures.append(_figure("memory", peak, budget.memory_mb, " MiB"))
    elif budget.memory_mb is not None:
        figures.append(f"memory not measured (budget {format_limit(budget.memory_mb)} MiB)")
    if "allocations" in counts:
        figures.append(_figure("allocations", counts["allocations"], budget.allocations, ""))
    elif budget.allocations is not None:
        figures.append(f"allocations not measured (budget {budget.allocations})")
    figures.append(_figure("queries", counts.get("queries", 0), budget.queries, ""))
    figures.append(f"gc {counts.get('gc_collections', 0)}")
    samples = len(measurement.wall_s)
    if samples > 1:
        figures.append(f"median of {samples} calls")
    status = "OVER" if record.over else "ok"
    return f"{status:<4} {record.nodeid}: {', '.join(figures)}"


def _figure(name: str, value: float, budget: float | None, unit: str) -> str:
    shown = format_amount(value) if isinstance(value, float) else str(value)
    if budget is None:
        return f"{name} {shown}{unit}"
    sign = ">" if value > budget else "<="
    return f"{name} {shown}{unit} {sign} {format_limit(budget)}{unit}"


def write_budgets(
    terminalreporter: pytest.TerminalReporter,
    measured: Mapping[str, MeasuredTest],
    unmeasured: Mapping[str, str],
) -> None:
    """The "profiler-kit perf budgets" section; none when no marked test ran."""
    if not (measured or unmeasured):
        return
    terminalreporter.section("profiler-kit perf budgets")
    for record in measured.values():
        over = bool(record.over)
        terminalreporter.line(budget_line(record), red=over, green=not over)
        for note in record.measurement.notes:
            terminalreporter.line(f"     note: {note}")
    for nodeid, reason in unmeasured.items():
        terminalreporter.line(f"n/a  {nodeid}: {reason}", yellow=True)


def write_check(
    terminalreporter: pytest.TerminalReporter, result: CheckResult, baseline_path: Path | None
) -> None:
    """The baseline check's table, the text ``profiler-kit check`` prints.

    A passing check shows only its verdict line unless ``-v`` is given: the
    table matters when something regressed.
    """
    from profiler_kit.check.report_formats import render_text

    terminalreporter.section(
        f"profiler-kit baseline check against {baseline_path}",
        red=not result.passed,
        green=result.passed,
    )
    text = render_text(result).rstrip("\n")
    if result.passed and terminalreporter.verbosity <= 0:
        text = text.splitlines()[-1]  # the verdict line; -v shows the table
    for line in text.splitlines():
        terminalreporter.line(line)
