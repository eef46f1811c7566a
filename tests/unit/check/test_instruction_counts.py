"""Instruction counts in the check: which timings gate, the callgrind dumps, the client requests."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from profiler_kit.check import instructions
from profiler_kit.check.baseline import BenchTarget
from profiler_kit.check.compare import compare_runs, timings_gate
from profiler_kit.check.config import CheckSettings, load_check_settings
from profiler_kit.errors import ProfilerKitError

SLOW = [0.010] * 10
FAST = [0.005] * 10  # "baseline": everything about twice as fast


def target(wall: list[float], instructions_count: int | None) -> BenchTarget:
    counts = {"calls": 10}
    if instructions_count is not None:
        counts["instructions"] = instructions_count
    return BenchTarget(name="t", kind="script", wall_s=wall, cpu_s=wall, counts=counts)


@pytest.mark.parametrize(
    ("mode", "before", "after", "gates"),
    [
        ("auto", 1000, 1000, False),
        ("auto", None, 1000, True),
        ("auto", 1000, None, True),
        ("gate", 1000, 1000, True),
        ("report", None, None, False),
    ],
)
def test_timings_gate(mode: str, before: int | None, after: int | None, gates: bool) -> None:
    settings = CheckSettings(timings=mode)  # type: ignore[arg-type]
    assert timings_gate(target(FAST, before), target(SLOW, after), settings) is gates


def test_auto_does_not_gate_when_instructions_are_not_checked() -> None:
    settings = CheckSettings(metrics=("wall_s", "cpu_s", "calls"))
    assert timings_gate(target(FAST, 1000), target(SLOW, 1000), settings)


def test_advisory_timing_never_fails_but_says_what_it_found() -> None:
    """Twice as slow by the clock, same instructions: passes, the note keeps the finding."""
    result = compare_runs(
        {"t": target(FAST, 1_000_000)}, {"t": target(SLOW, 1_000_000)}, CheckSettings()
    )
    assert result.passed
    timing = {c.metric: c for c in result.targets[0].comparisons}["cpu_s"]
    assert timing.verdict == "advisory" and not timing.regressed
    assert timing.note is not None and "would have been a regression" in timing.note


def test_gated_timing_fails_and_instructions_fail_alone() -> None:
    gated = compare_runs(
        {"t": target(FAST, 1_000_000)},
        {"t": target(SLOW, 1_000_000)},
        CheckSettings(timings="gate"),
    )
    assert not gated.passed
    assert {c.metric for _, c in gated.regressions} == {"wall_s", "cpu_s"}
    grown = compare_runs(
        {"t": target(FAST, 1_000_000)}, {"t": target(FAST, 1_030_000)}, CheckSettings()
    )
    assert [c.metric for _, c in grown.regressions] == ["instructions"]


def test_timings_setting_is_validated(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.profiler-kit.check]\ntimings = "gate"\n')
    assert load_check_settings({}, start_dir=tmp_path).timings == "gate"
    assert load_check_settings({"timings": "report"}, start_dir=tmp_path).timings == "report"
    (tmp_path / "pyproject.toml").write_text('[tool.profiler-kit.check]\ntimings = "always"\n')
    with pytest.raises(ProfilerKitError, match="timings must be one of auto, gate, report"):
        load_check_settings({}, start_dir=tmp_path)


def test_dumped_counts_are_read_per_target_and_call(tmp_path: Path) -> None:
    """callgrind's dump files: the label names the target, ``totals:`` the count."""

    def dump(number: int, label: str, total: int) -> None:
        (tmp_path / f"callgrind.out.{number}").write_text(
            f"version: 1\ncreator: callgrind-3.19.0\ndesc: Trigger: Client Request: {label}\n"
            f"events: Ir\nfn=(1) main\n0 {total}\ntotals: {total}\n"
        )

    (tmp_path / "callgrind.out").write_text("desc: Trigger: Program termination\ntotals: 0\n")
    dump(1, "profiler-kit-target-0-call-0", 700)
    dump(2, "profiler-kit-target-0-call-1", 500)
    dump(3, "profiler-kit-target-0-call-2", 510)
    dump(4, "profiler-kit-target-1-call-0", 90)
    counts = instructions._dumped_counts(tmp_path, "callgrind.out")
    assert counts == {0: [700, 500, 510], 1: [90]}


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 requests")
def test_client_requests_are_harmless_outside_valgrind() -> None:
    """Outside valgrind the request sequence does nothing and returns the default."""
    from profiler_kit.check.valgrind_requests import CallgrindControl

    control = CallgrindControl()
    control.start_instrumentation()
    control.zero()
    control.toggle_collect()
    control.toggle_collect()
    control.dump("label")
    control.stop_instrumentation()
    assert control._request(0x1001) == 0  # RUNNING_ON_VALGRIND: 0 on a real CPU
