"""``profiler-kit check``: identical runs pass; a regression of any one metric fails (exit 1).

Each regression is injected into the same deterministic workload
(``workloads/knobs.py``, one environment variable per cost) and checked
against one baseline of the unchanged workload. Timing regressions are made
large (three times the CPU work, 20 ms of sleep on a ~10 ms workload) so that
a loaded CI machine cannot hide them; counts are exact, so a small change
suffices.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

REPEAT = 20
TIMINGS = ("wall_s", "cpu_s")
COUNTS = ("calls", "allocations", "allocated_bytes", "peak_bytes", "gc_collections", "queries")


@pytest.fixture(scope="module")
def knobs(kit_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A kit whose ``baseline.json`` holds a bench run of the unchanged workload."""
    kit = kit_factory(tmp_path_factory.mktemp("knobs"))
    kit.copy("knobs.py")
    kit.bench("knobs.py", repeat=REPEAT)
    kit.save_baseline(kit.cwd / "baseline.json")
    return kit


@pytest.fixture(scope="module")
def sql(kit_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A kit whose ``baseline.json`` holds a bench run of the SQLAlchemy app (3 queries)."""
    kit = kit_factory(tmp_path_factory.mktemp("sql"))
    kit.copy("sql_app.py")
    kit.bench("--no-memory", "--app", "sql_app:app", "--request", "GET /products", repeat=5)
    kit.save_baseline(kit.cwd / "baseline.json")
    return kit


def _check_knob(kit: Any, knob: str) -> subprocess.CompletedProcess[str]:
    """Bench the workload with ``knob`` turned up into a store of its own; check it."""
    store = kit.cwd / f"{knob}.sqlite3"
    kit.bench("knobs.py", env={"KNOBS": knob}, store=store, repeat=REPEAT)
    return kit("check", "--baseline", "baseline.json", "--store", store, "--report", f"{knob}.html")


def _assert_failed_on(kit: Any, result: subprocess.CompletedProcess[str], *metrics: str) -> None:
    assert result.returncode == 1, kit.explain(result, "expected exit 1 (regression)")
    kit.assert_no_traceback(result)
    for metric in metrics:
        row = kit.row(result.stdout, metric)
        assert row.marked and row.verdict == "REGRESSED", kit.explain(result, f"{metric} passed")
    assert result.stdout.rstrip().splitlines()[-1].startswith("FAIL: "), result.stdout


# -- identical inputs pass ------------------------------------------------------------


def test_same_run_passes(knobs: Any) -> None:
    """A run checked against its own baseline: every metric unchanged, exit 0, no report."""
    result = knobs("check", "--baseline", "baseline.json", "--report", "same.html")
    assert result.returncode == 0, knobs.explain(result)
    rows = knobs.rows(result.stdout)
    assert sorted(row.metric for row in rows) == sorted((*TIMINGS, *COUNTS))
    for row in rows:
        assert not row.marked and row.verdict == "ok", row
        assert row.baseline == row.current, row
    assert result.stdout.rstrip().splitlines()[-1] == "PASS: no regressions in 1 target"
    assert not (knobs.cwd / "same.html").exists()


def test_repeated_identical_runs_pass(kit: Any) -> None:
    """Two bench runs of the same script: every count equal, the check passes.

    The two runs are separate processes minutes apart, and a shared CI machine
    can be slower for a whole run, which no interleaving within a run can
    cancel; so a timing verdict is given up to three chances (a fresh pair of
    runs each), while a count must never differ.
    """
    kit.copy("knobs.py")
    failures = []
    for attempt in range(3):
        baseline, current = kit.cwd / f"base{attempt}.sqlite3", kit.cwd / f"cur{attempt}.sqlite3"
        kit.bench("knobs.py", store=baseline, repeat=REPEAT)
        kit.save_baseline(kit.cwd / f"baseline{attempt}.json", store=baseline)
        kit.bench("knobs.py", store=current, repeat=REPEAT)
        result = kit("check", "--baseline", f"baseline{attempt}.json", "--store", current)
        kit.assert_no_traceback(result)
        for row in kit.rows(result.stdout):
            if row.metric in COUNTS:
                assert row.verdict == "ok", kit.explain(result, f"a count changed: {row}")
        if result.returncode == 0:
            return
        assert result.returncode == 1, kit.explain(result)
        assert kit.regressed(result.stdout) <= set(TIMINGS), kit.explain(result)
        failures.append(result.stdout)
    pytest.fail("identical runs failed the check 3 times in a row:\n" + "\n".join(failures))


@pytest.mark.usefixtures("needs_memray")
def test_repeated_identical_app_runs_pass(kit: Any) -> None:
    """Four bench runs of the same endpoint, checked against the first: no count regresses.

    Timings are taken out of the question (thresholds of +1000 %); counts of
    identical runs must never fail the check.
    """
    kit.copy("sql_app.py")
    target = ("--app", "sql_app:app", "--request", "GET /products")
    kit.bench(*target, repeat=3)
    kit.save_baseline(kit.cwd / "baseline.json")
    for attempt in range(3):
        store = kit.cwd / f"again{attempt}.sqlite3"
        kit.bench(*target, store=store, repeat=3)
        result = kit(
            "check",
            "--baseline",
            "baseline.json",
            "--store",
            store,
            "--wall-threshold",
            "10",
            "--cpu-threshold",
            "10",
        )
        kit.assert_no_traceback(result)
        assert result.returncode == 0, kit.explain(result, "identical runs regressed")


# -- each metric ------------------------------------------------------------------------


@pytest.mark.parametrize("knob", ["cpu", "sleep"])
def test_timing_regression_fails(knobs: Any, knob: str) -> None:
    """Three times the CPU work slows wall and CPU time; a sleep only wall time."""
    result = _check_knob(knobs, knob)
    regressed = TIMINGS if knob == "cpu" else ("wall_s",)
    _assert_failed_on(knobs, result, *regressed)
    if knob == "cpu":
        # The extra work makes no extra calls or allocations: only the timings are flagged.
        assert knobs.regressed(result.stdout) == set(TIMINGS), result.stdout


@pytest.mark.usefixtures("needs_memray")
@pytest.mark.parametrize(
    "metric", ["calls", "allocations", "allocated_bytes", "peak_bytes", "gc_collections"]
)
def test_count_regression_fails(knobs: Any, metric: str) -> None:
    result = _check_knob(knobs, metric)
    _assert_failed_on(knobs, result, metric)
    row = knobs.row(result.stdout, metric)
    assert row.baseline != row.current, row


def test_query_regression_fails(sql: Any) -> None:
    """One SQL query more per request fails the check (queries are compared exactly)."""
    store = sql.cwd / "more.sqlite3"
    sql.bench(
        "--no-memory",
        "--app",
        "sql_app:app",
        "--request",
        "GET /products",
        env={"SQL_APP_QUERIES": "4"},
        store=store,
        repeat=5,
    )
    result = sql("check", "--baseline", "baseline.json", "--store", store)
    _assert_failed_on(sql, result, "queries")
    row = sql.row(result.stdout, "queries")
    assert (row.baseline, row.current) == ("3", "4"), row


def test_missing_target_fails(sql: Any) -> None:
    """A target of the baseline that the current run lacks fails the check; a new one is noted."""
    store = sql.cwd / "renamed.sqlite3"
    sql.bench(
        "--no-memory",
        "--app",
        "sql_app:app",
        "--request",
        "GET /products?page=1",
        store=store,
        repeat=3,
    )
    result = sql("check", "--baseline", "baseline.json", "--store", store)
    assert result.returncode == 1, sql.explain(result)
    sql.assert_no_traceback(result)
    assert "error in GET /products: in the baseline but not in the current bench run" in (
        result.stdout
    )
    assert "note on GET /products?page=1: new" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("FAIL: ")


def test_check_without_bench_run(kit: Any, tmp_path: Path) -> None:
    """A store with no bench run, or no store at all: exit 2 with what to do."""
    kit.write(
        "baseline.json",
        '{"format": "profiler-kit-baseline", "version": 1, '
        '"targets": {"t": {"wall_s": [1, 1, 1], "cpu_s": [1, 1, 1]}}}',
    )
    result = kit("check", "--baseline", "baseline.json", "--store", tmp_path / "none.sqlite3")
    kit.assert_input_error(result, "none.sqlite3")
    kit.write("script.py", "print('hi')\n")
    kit("run", "--no-report", "-q", "script.py", check_rc=0)  # a capture, but not a bench
    result = kit("check", "--baseline", "baseline.json")
    kit.assert_input_error(result, "no bench results", "profiler-kit bench")


def test_baseline_without_targets_is_an_input_error(kit: Any) -> None:
    """A baseline that compares nothing would pass every check: refused, exit 2."""
    kit.write("baseline.json", '{"format": "profiler-kit-baseline", "version": 1, "targets": {}}')
    result = kit("check", "--baseline", "baseline.json")
    kit.assert_input_error(result, "holds no targets")
