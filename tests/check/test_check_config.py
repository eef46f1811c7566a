"""``[tool.profiler-kit.check]`` in pyproject.toml sets thresholds; the command line wins.

The runs are made once: a baseline, a run with three times the CPU work (only
its timings differ) and one with 50 more function calls (only its counts
differ). Each test writes its own pyproject.toml into its own working
directory and checks those runs from there.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def runs(kit_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A kit with ``baseline.json``, ``cpu.sqlite3`` (slower) and ``calls.sqlite3``."""
    kit = kit_factory(tmp_path_factory.mktemp("config_runs"))
    kit.copy("knobs.py")
    kit.bench("--no-memory", "knobs.py", repeat=15)
    kit.save_baseline(kit.cwd / "baseline.json")
    for knob in ("cpu", "calls"):
        kit.bench("--no-memory", "knobs.py", env={"KNOBS": knob}, store=kit.cwd / f"{knob}.sqlite3")
    return kit


def _check(
    runs: Any, where: Path, run: str, *args: str, pyproject: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``check`` of ``run`` against the baseline, from ``where`` with that pyproject.toml."""
    if pyproject is not None:
        (where / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    result = runs(
        "check",
        "--baseline",
        runs.cwd / "baseline.json",
        "--store",
        runs.cwd / f"{run}.sqlite3",
        *args,
        cwd=where,
    )
    runs.assert_no_traceback(result)
    return result


def test_thresholds_from_pyproject(runs: Any, tmp_path: Path) -> None:
    """The slowdown fails by default and passes under huge thresholds from pyproject.toml."""
    result = _check(runs, tmp_path, "cpu")
    assert result.returncode == 1, runs.explain(result)
    assert runs.regressed(result.stdout) == {"wall_s", "cpu_s"}
    result = _check(
        runs,
        tmp_path,
        "cpu",
        pyproject="[tool.profiler-kit.check]\nwall_threshold = 10.0\ncpu_threshold = 10\n",
    )
    assert result.returncode == 0, runs.explain(result)
    for metric in ("wall_s", "cpu_s"):
        row = runs.row(result.stdout, metric)
        assert row.verdict == "ok" and row.cells[7] == "+1000% & p<0.01", row
    assert result.stdout.rstrip().endswith("PASS: no regressions in 1 target")


def test_command_line_overrides_pyproject(runs: Any, tmp_path: Path) -> None:
    """Each option replaces only its own setting: --cpu-threshold leaves wall_threshold be."""
    pyproject = "[tool.profiler-kit.check]\nwall-threshold = 10\ncpu-threshold = 10\n"
    result = _check(runs, tmp_path, "cpu", "--cpu-threshold", "0.05", pyproject=pyproject)
    assert result.returncode == 1, runs.explain(result)
    assert runs.regressed(result.stdout) == {"cpu_s"}
    assert runs.row(result.stdout, "cpu_s").cells[7] == "+5% & p<0.01"
    assert runs.row(result.stdout, "wall_s").cells[7] == "+1000% & p<0.01"


def test_alpha_from_pyproject(runs: Any, tmp_path: Path) -> None:
    """No 15 against 10 samples can be significant at alpha 1e-12: the slowdown passes."""
    result = _check(runs, tmp_path, "cpu", pyproject="[tool.profiler-kit.check]\nalpha = 1e-12\n")
    assert result.returncode == 0, runs.explain(result)
    assert runs.row(result.stdout, "cpu_s").cells[7] == "+5% & p<1e-12"
    result = _check(runs, tmp_path, "cpu", "--alpha", "0.01")
    assert result.returncode == 1, runs.explain(result)


def test_count_tolerances(runs: Any, tmp_path: Path) -> None:
    """50 calls more than 11 (+455 %): tolerated at 5 (+500 %) per count or for all counts."""
    only_counts = '[tool.profiler-kit.check]\nmetrics = ["calls", "allocations", "queries"]\n'
    result = _check(runs, tmp_path, "calls", pyproject=only_counts)
    assert result.returncode == 1, runs.explain(result)
    assert runs.regressed(result.stdout) == {"calls"}

    result = _check(runs, tmp_path, "calls", pyproject=only_counts + "tolerances = {calls = 5}\n")
    assert result.returncode == 0, runs.explain(result)
    assert runs.row(result.stdout, "calls").cells[7] == "+500%"
    assert runs.row(result.stdout, "queries").cells[7] == "+0%"  # the others keep theirs

    result = _check(runs, tmp_path, "calls", pyproject=only_counts + "count_tolerance = 5\n")
    assert result.returncode == 0, runs.explain(result)
    assert {row.cells[7] for row in runs.rows(result.stdout)} == {"+500%"}
    # The command line beats the file (left as it is: pyproject=None).
    result = _check(runs, tmp_path, "calls", "--count-tolerance", "0", pyproject=None)
    assert result.returncode == 1, runs.explain(result)


@pytest.mark.parametrize(
    "order",
    [
        "tolerances-first",
        "count_tolerance-first",
    ],
)
def test_per_count_tolerance_wins_in_any_order(runs: Any, tmp_path: Path, order: str) -> None:
    """TOML tables have no order: a count's own tolerance beats count_tolerance either way."""
    lines = ["tolerances = {calls = 5}", "count_tolerance = 0.1"]
    if order == "count_tolerance-first":
        lines.reverse()
    pyproject = '[tool.profiler-kit.check]\nmetrics = ["calls", "queries"]\n' + "\n".join(lines)
    result = _check(runs, tmp_path, "calls", pyproject=pyproject + "\n")
    assert runs.row(result.stdout, "calls").cells[7] == "+500%", result.stdout
    assert runs.row(result.stdout, "queries").cells[7] == "+10%", result.stdout
    assert result.returncode == 0, runs.explain(result)


def test_metrics_from_pyproject(runs: Any, tmp_path: Path) -> None:
    """Only the listed metrics are compared: the slower run passes on its unchanged counts."""
    pyproject = '[tool.profiler-kit.check]\nmetrics = ["calls", "gc_collections"]\n'
    result = _check(runs, tmp_path, "cpu", pyproject=pyproject)
    assert result.returncode == 0, runs.explain(result)
    assert [row.metric for row in runs.rows(result.stdout)] == ["calls", "gc_collections"]


def test_pyproject_of_a_parent_directory(runs: Any, tmp_path: Path) -> None:
    """As for the other settings, the nearest pyproject.toml above the working directory counts,
    and ``[tool.profiler-kit]`` settings beside the check table do not disturb it."""
    (tmp_path / "pyproject.toml").write_text(
        "[tool.profiler-kit]\nsample_rate = 0.5\n\n"
        "[tool.profiler-kit.check]\nwall_threshold = 10\ncpu_threshold = 10\n",
        encoding="utf-8",
    )
    nested = tmp_path / "services" / "shop"
    nested.mkdir(parents=True)
    result = _check(runs, nested, "cpu")
    assert result.returncode == 0, runs.explain(result)


BAD_SETTINGS = [
    pytest.param("bogus = 1", ["unknown check setting 'bogus'"], id="unknown-key"),
    pytest.param("wall_treshold = 0.1", ["'wall_treshold'"], id="misspelt-key"),
    pytest.param('cpu_threshold = "big"', ["cpu_threshold must be a number"], id="string"),
    pytest.param("cpu_threshold = -0.1", ["between 0 and 10"], id="negative"),
    pytest.param("wall_threshold = 100", ["between 0 and 10"], id="too-big"),
    pytest.param("alpha = 1.5", ["alpha must be between 0 and 1"], id="alpha"),
    pytest.param("alpha = 0", ["alpha must be between 0 and 1"], id="alpha-zero"),
    pytest.param("tolerances = {bogus = 1}", ["unknown count 'bogus'"], id="unknown-count"),
    pytest.param("tolerances = 3", ["tolerances must be a table"], id="tolerances-number"),
    pytest.param("tolerances = {calls = []}", ["tolerances.calls"], id="tolerance-list"),
    pytest.param('metrics = ["wall_s", "speed"]', ["unknown metric(s) speed"], id="metric"),
]


@pytest.mark.parametrize(("line", "fragments"), BAD_SETTINGS)
def test_bad_settings(runs: Any, tmp_path: Path, line: str, fragments: list[str]) -> None:
    result = _check(runs, tmp_path, "cpu", pyproject=f"[tool.profiler-kit.check]\n{line}\n")
    runs.assert_input_error(result, "[tool.profiler-kit.check]", *fragments)


@pytest.mark.parametrize(
    ("pyproject", "fragments"),
    [
        pytest.param("[tool.profiler-kit]\ncheck = 3\n", ["must be a table"], id="not-a-table"),
        pytest.param("[tool.profiler-kit.check\n", ["cannot read", "pyproject.toml"], id="toml"),
    ],
)
def test_bad_pyproject(runs: Any, tmp_path: Path, pyproject: str, fragments: list[str]) -> None:
    result = _check(runs, tmp_path, "cpu", pyproject=pyproject)
    runs.assert_input_error(result, *fragments)


@pytest.mark.parametrize(
    ("option", "fragments"),
    [
        (["--alpha", "1"], ["the command line", "alpha"]),
        (["--cpu-threshold", "-1"], ["the command line", "cpu_threshold"]),
        (["--count-tolerance", "nan"], ["the command line", "count_tolerance"]),
        (["--wall-threshold", "fast"], ["--wall-threshold"]),
        (["--format", "html"], ["--format"]),
    ],
)
def test_bad_options(runs: Any, tmp_path: Path, option: list[str], fragments: list[str]) -> None:
    """Bad values on the command line are input errors too, with or without a pyproject.toml."""
    result = _check(runs, tmp_path, "cpu", *option)
    runs.assert_input_error(result, *fragments)
