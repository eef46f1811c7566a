"""``bench --instructions``: a CPU cost counted by valgrind, that machine noise cannot move.

Real valgrind runs (``.ci/run`` installs it). The regression injected is 3 %
more loop steps: inside the noise of timings on a shared runner, and three
times the default instruction tolerance of 1 %.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("valgrind") is None, reason="valgrind counts the instructions"
)

REPEAT = 5


@pytest.fixture(scope="module")
def steps(kit_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A kit whose ``baseline.json`` holds an instruction-counted bench of ``steps.py``."""
    kit = kit_factory(tmp_path_factory.mktemp("steps"))
    kit.copy("steps.py")
    # The variable is set on both sides: os.environ.get makes one Python call
    # more when it is set, which the exact call count would see.
    kit.bench("steps.py", "--instructions", "--no-memory", env={"STEPS_SCALE": "1"}, repeat=REPEAT)
    kit.save_baseline(kit.cwd / "baseline.json")
    return kit


def _instructions(kit: Any, store: Path | None = None) -> int:
    (target,) = kit.baseline_document(store)["targets"].values()
    count = target["counts"]["instructions"]
    assert isinstance(count, int)
    return count


def _bench_scaled(kit: Any, scale: str, name: str) -> Path:
    store = kit.cwd / f"{name}.sqlite3"
    kit.bench(
        "steps.py",
        "--instructions",
        "--no-memory",
        env={"STEPS_SCALE": scale},
        store=store,
        repeat=REPEAT,
    )
    return store


def test_counts_are_repeatable_and_scale_with_the_work(steps: Any) -> None:
    """Two runs count the same instructions; 3 % more steps count about 3 % more."""
    first = _instructions(steps)
    # 200,000 loop steps are some tens of millions of instructions.
    assert first > 5_000_000, first
    again = _instructions(steps, _bench_scaled(steps, "1", "again"))
    assert abs(again - first) / first < 0.002, (first, again)
    grown = _instructions(steps, _bench_scaled(steps, "1.03", "grown"))
    assert 1.015 < grown / first < 1.04, (first, grown)


def test_identical_run_passes_and_timings_are_advisory(steps: Any) -> None:
    store = _bench_scaled(steps, "1", "same")
    result = steps("check", "--baseline", "baseline.json", "--store", store)
    assert result.returncode == 0, steps.explain(result)
    assert steps.row(result.stdout, "instructions").verdict == "ok"
    for metric in ("wall_s", "cpu_s"):
        row = steps.row(result.stdout, metric)
        assert row.verdict == "advisory" and not row.marked, row
        assert "report only" in row.cells, row


def test_three_percent_more_cpu_work_fails_on_instructions(steps: Any) -> None:
    store = _bench_scaled(steps, "1.03", "slower")
    result = steps("check", "--baseline", "baseline.json", "--store", store, "--format", "json")
    assert result.returncode == 1, steps.explain(result, "expected a regression")
    (target,) = json.loads(result.stdout)["targets"]
    verdicts = {c["metric"]: c for c in target["comparisons"]}
    assert verdicts["instructions"]["verdict"] == "regressed"
    assert 1.015 < verdicts["instructions"]["ratio"] < 1.04
    for metric in ("wall_s", "cpu_s"):
        assert verdicts[metric]["verdict"] == "advisory"
        assert not verdicts[metric]["regressed"]
        assert verdicts[metric]["note"].startswith("advisory")


def test_timings_gate_again_when_asked(steps: Any) -> None:
    """--timings gate: the timing rows are judged by their threshold again."""
    store = _bench_scaled(steps, "1", "gated")
    result = steps("check", "--baseline", "baseline.json", "--store", store, "--timings", "gate")
    assert result.returncode in (0, 1), steps.explain(result)
    for metric in ("wall_s", "cpu_s"):
        row = steps.row(result.stdout, metric)
        assert row.verdict != "advisory", row
        assert "+5% & p<0.01" in row.cells, row


def test_baseline_without_instructions_keeps_timings_gating(steps: Any) -> None:
    """Only one side counted instructions: timings gate, and the check says what is missing."""
    store = steps.cwd / "plain.sqlite3"
    steps.bench("steps.py", "--no-memory", env={"STEPS_SCALE": "1"}, store=store, repeat=REPEAT)
    result = steps("check", "--baseline", "baseline.json", "--store", store)
    assert result.returncode in (0, 1), steps.explain(result)
    assert "+5% & p<0.01" in steps.row(result.stdout, "cpu_s").cells
    assert "without --instructions" in result.stdout + result.stderr


def test_app_endpoint_instructions(kit: Any) -> None:
    """An endpoint called in process is counted too, the app imported in the child."""
    pytest.importorskip("flask")
    kit.copy("json_flask_app.py")
    kit.bench(
        "--no-memory",
        "--instructions",
        "--app",
        "json_flask_app:app",
        "--request",
        "GET /hello",
        repeat=3,
    )
    (target,) = kit.baseline_document()["targets"].values()
    # A Flask request is tens of thousands of instructions, not the app's import.
    assert 10_000 < target["counts"]["instructions"] < 50_000_000, target["counts"]


def test_without_valgrind_is_a_clear_error(kit: Any) -> None:
    """Said before any timing is done, with how to install it."""
    kit.copy("steps.py")
    empty = kit.cwd / "no-tools"
    empty.mkdir()
    result = kit(
        "bench",
        "steps.py",
        "--instructions",
        "--no-memory",
        "--repeat",
        "2",
        env={"PATH": str(empty)},
    )
    assert "benchmarking" not in result.stderr, kit.explain(result)
    kit.assert_input_error(result, "valgrind is not installed", "apt-get install valgrind")
