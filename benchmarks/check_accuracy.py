"""Accuracy and cost of `profiler-kit check` against pytest-benchmark's --benchmark-compare-fail.

The workload (``benchmarks/check_workload/``) is a deterministic pure-Python
function whose CPU cost is scaled by ``CHECK_CPU_SCALE`` (loop steps on cached
small ints: no allocation, no Python call per step, so only timings can see
it) and whose allocation count is scaled by ``CHECK_ALLOC_SCALE`` (objects of a
``__slots__`` class). Each trial measures a baseline and a "current" run in
fresh processes and fresh store files, and asks the tool for a verdict:

* A/A: baseline and current identical: any regression is a false positive;
* CPU: current does ``--cpu-scale`` (1.10) times the CPU work: it should fail;
* alloc: current allocates ``--alloc-scale`` (1.01) times as much: it should
  fail (pytest-benchmark only times, so it is not measured there).

profiler-kit arm, per trial::

    profiler-kit bench workload.py --repeat R --warmup W --store base.sqlite3
    profiler-kit baseline save base.sqlite3 -o baseline.json
    CHECK_...=... profiler-kit bench workload.py --repeat R --warmup W --store current.sqlite3
    profiler-kit check --baseline baseline.json current.sqlite3 --format json -o check.json

pytest-benchmark arm, per trial (same R timed rounds and W warm-up rounds)::

    pytest test_workload_benchmark.py --benchmark-save=base --benchmark-storage=file://DIR \\
        --benchmark-min-rounds=R --benchmark-max-time=0.000001 \\
        --benchmark-warmup=on --benchmark-warmup-iterations=W
    CHECK_...=... pytest ... --benchmark-compare=0001 --benchmark-compare-fail mean:5% min:5%

Both criteria of pytest-benchmark come from the same runs: its log names each
field that failed (``--benchmark-compare-fail`` takes several expressions after
ONE option; given twice, the second replaces the first). The 5 % equals
profiler-kit's default wall and CPU thresholds (read from
``profiler_kit.check.config.CheckSettings``). Trials of the two arms alternate
(ABAB, kinds shuffled) so that machine noise hits both alike. Every command
runs with a timeout, the whole run stops starting trials past ``--max-minutes``.

Targets: false-positive rate over >= 50 A/A trials at most 2 %; a 10 % CPU
slowdown detected at least 95 % of the time; a 1 % growth in allocations
detected every time.

    python benchmarks/check_accuracy.py                 # full: 50 A/A, 30 CPU, 20 alloc
    python benchmarks/check_accuracy.py --quick         # a few trials, to see that it works
    python benchmarks/check_accuracy.py --aa 100 --repeat 40 --json results.json

The default --repeat 30 (with --warmup 3): the workload takes ~23 ms, so one
profiler-kit bench is ~0.7 s of timed samples plus ~1 s of fixed cost (start-up,
the call count, memray's allocation count, a profile); a trial (two benches, a
baseline save, a check) took a median 4.1-5.8 s, a pytest-benchmark trial
8.3-9.7 s (its runs also calibrate and read the CPU's details with py-cpuinfo,
~1.6 s), and a full run of 100 + 80 trials 18-24 min on a 2-vCPU VM at load
average 1.3-6.3. With --instructions (the default when valgrind is installed)
each bench also counts instructions under callgrind (~8 s for this 35 ms
workload: three counted calls at ~80 times the native time), so a
profiler-kit trial took a median 23 s (bench + check of one commit 11.7 s)
and the full run 45 min. 30 samples a side make a 5 % shift significant at alpha 0.01
with a wide margin (the smallest possible p-value is ~1e-17), so more samples
would buy little power; fewer would let one slow second of a shared machine
weigh more in the median.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKLOAD_DIR = HERE / "check_workload"
SCRIPT = WORKLOAD_DIR / "workload.py"
TEST_FILE = WORKLOAD_DIR / "test_workload_benchmark.py"

KINDS = ("aa", "cpu", "alloc")
KIND_LABEL = {"aa": "A/A", "cpu": "CPU", "alloc": "alloc"}

TARGET_FP = 0.02  # at most
TARGET_CPU = 0.95  # at least
TARGET_ALLOC = 1.0  # every time

PK = "profiler-kit"
PB_CRITERIA = ("mean", "min")  # pytest-benchmark fields compared
FAIL_LINE = re.compile(r"Field '(\w+)' has failed \w+: ([-0-9.e+]+) > ([-0-9.e+]+)")


# --------------------------------------------------------------------------
# Trials


@dataclass
class Trial:
    arm: str  # "profiler-kit" or "pytest-benchmark"
    kind: str  # "aa", "cpu", "alloc"
    index: int
    error: str | None = None
    #: verdict per criterion: {"check": True} or {"mean": False, "min": True}; True = regression
    flagged: dict[str, bool] = field(default_factory=dict)
    exit_status: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    load: float | None = None  # 1-minute load average when the trial started


@dataclass
class Settings:
    repeat: int
    warmup: int
    cpu_scale: float
    alloc_scale: float
    threshold_pct: int
    timeout: float
    profiler_kit: str
    pytest: str
    instructions: bool = False  # bench --instructions (valgrind)


def child_env(cpu_scale: float, alloc_scale: float) -> dict[str, str]:
    env = dict(os.environ)
    env["CHECK_CPU_SCALE"] = repr(cpu_scale)
    env["CHECK_ALLOC_SCALE"] = repr(alloc_scale)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # nothing written into benchmarks/check_workload
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only pytest-benchmark, loaded with -p
    env.pop("GITHUB_STEP_SUMMARY", None)  # `check` would append every trial's table to it
    env.pop("PROFILER_KIT_STORE", None)
    return env


def scales(kind: str, settings: Settings, *, current: bool) -> tuple[float, float]:
    if not current or kind == "aa":
        return 1.0, 1.0
    if kind == "cpu":
        return settings.cpu_scale, 1.0
    return 1.0, settings.alloc_scale


class CommandFailed(Exception):
    pass


def run_command(
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    timeout: float,
    ok: tuple[int, ...] = (0,),
) -> tuple[int, float, str]:
    """Run; return (exit status, seconds, stdout + stderr). Raise CommandFailed otherwise."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CommandFailed(f"timed out after {timeout:g} s: {' '.join(command[:3])} ...") from None
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    if done.returncode not in ok:
        tail = " | ".join(output.strip().splitlines()[-4:])
        raise CommandFailed(
            f"exit {done.returncode} of {Path(command[0]).name} {command[1]}: {tail}"
        )
    return done.returncode, seconds, output


def profiler_kit_trial(trial: Trial, settings: Settings, work: Path) -> None:
    base_store, current_store = work / "base.sqlite3", work / "current.sqlite3"
    baseline, result = work / "baseline.json", work / "check.json"
    bench = [settings.profiler_kit, "bench", str(SCRIPT), "--repeat", str(settings.repeat)]
    bench += ["--warmup", str(settings.warmup)]
    bench += ["--instructions", "--store"] if settings.instructions else ["--store"]
    base_env = child_env(*scales(trial.kind, settings, current=False))
    current_env = child_env(*scales(trial.kind, settings, current=True))
    timeout = settings.timeout
    _, trial.seconds["bench_base"], _ = run_command(
        [*bench, str(base_store)], env=base_env, cwd=work, timeout=timeout
    )
    _, trial.seconds["save"], _ = run_command(
        [settings.profiler_kit, "baseline", "save", str(base_store), "-o", str(baseline)],
        env=base_env,
        cwd=work,
        timeout=timeout,
    )
    _, trial.seconds["bench_current"], _ = run_command(
        [*bench, str(current_store)], env=current_env, cwd=work, timeout=timeout
    )
    check = [settings.profiler_kit, "check", "--baseline", str(baseline), str(current_store)]
    check += ["--format", "json", "-o", str(result), "--report", str(work / "diff.html")]
    status, trial.seconds["check"], _ = run_command(
        check, env=current_env, cwd=work, timeout=timeout, ok=(0, 1)
    )
    trial.exit_status = status
    trial.flagged["check"] = status == 1
    trial.seconds["bench_and_check"] = trial.seconds["bench_current"] + trial.seconds["check"]
    data = json.loads(result.read_text(encoding="utf-8"))
    metrics: dict[str, Any] = {}
    for target in data["targets"]:
        for comparison in target["comparisons"]:
            entry = {"ratio": comparison["ratio"], "regressed": comparison["regressed"]}
            note = comparison.get("note") or ""
            # An advisory timing (instructions counted on both sides) says what
            # it would have decided: the "timings also gate" row counts those.
            entry["would_regress"] = comparison["regressed"] or (
                comparison["verdict"] == "advisory" and "would have been a regression" in note
            )
            if comparison["kind"] == "timing":
                entry["p"] = comparison["p_value"]
                entry["baseline"] = comparison["baseline_median"]
                entry["current"] = comparison["current_median"]
            else:
                entry["baseline"] = comparison["baseline"]
                entry["current"] = comparison["current"]
            metrics[comparison["metric"]] = entry
    trial.details["metrics"] = metrics
    trial.details["regressed_metrics"] = [m for m, e in metrics.items() if e["regressed"]]
    trial.flagged["timings-gate"] = any(e["would_regress"] for e in metrics.values())
    trial.details["samples"] = profiler_kit_samples(baseline, current_store)
    if (status == 1) != (not data["passed"]):
        trial.error = f"exit status {status} but the JSON says passed={data['passed']}"


def profiler_kit_samples(baseline: Path, current_store: Path) -> dict[str, dict[str, list[float]]]:
    """Every timing sample of both sides, for the what-if rules of the diagnosis."""
    from profiler_kit.check.baseline import latest_run, load_baseline

    (before,) = load_baseline(baseline).targets.values()
    (after,) = latest_run([current_store], None)[1].values()
    return {
        side: {"wall_s": list(target.wall_s), "cpu_s": list(target.cpu_s)}
        for side, target in (("base", before), ("current", after))
    }


def pytest_benchmark_trial(trial: Trial, settings: Settings, work: Path) -> None:
    storage = work / "storage"
    base = [settings.pytest, str(TEST_FILE), "-p", "pytest_benchmark.plugin", "-q"]
    base += [
        f"--benchmark-storage=file://{storage}",
        f"--benchmark-min-rounds={settings.repeat}",
        "--benchmark-max-time=0.000001",  # so the rounds are exactly --benchmark-min-rounds
        "--benchmark-warmup=on",
        f"--benchmark-warmup-iterations={settings.warmup}",
        "--benchmark-save-data",  # every round's time, for the what-if rules of the diagnosis
    ]
    base_env = child_env(*scales(trial.kind, settings, current=False))
    current_env = child_env(*scales(trial.kind, settings, current=True))
    _, trial.seconds["bench_base"], _ = run_command(
        [*base, "--benchmark-save=base"], env=base_env, cwd=work, timeout=settings.timeout
    )
    criteria = [f"{name}:{settings.threshold_pct}%" for name in PB_CRITERIA]
    compare = [
        *base,
        f"--benchmark-json={work / 'current.json'}",
        "--benchmark-compare=0001",
        "--benchmark-compare-fail",
        *criteria,  # after ONE option: a second --benchmark-compare-fail would replace the first
    ]
    status, seconds, output = run_command(
        compare, env=current_env, cwd=work, timeout=settings.timeout, ok=(0, 1)
    )
    trial.exit_status = status
    trial.seconds["check"] = trial.seconds["bench_and_check"] = seconds
    failed = {match.group(1): float(match.group(2)) for match in FAIL_LINE.finditer(output)}
    if status == 1 and not failed:
        tail = " | ".join(output.strip().splitlines()[-4:])
        raise CommandFailed(f"pytest failed without a regression message: {tail}")
    for name in PB_CRITERIA:
        trial.flagged[name] = name in failed
    saved = next(storage.rglob("0001_base.json"))
    before = json.loads(saved.read_text(encoding="utf-8"))["benchmarks"][0]["stats"]
    after = json.loads((work / "current.json").read_text(encoding="utf-8"))["benchmarks"][0][
        "stats"
    ]
    trial.details["ratios"] = {
        name: after[name] / before[name] for name in ("mean", "min", "median", "max")
    }
    trial.details["rounds"] = (before["rounds"], after["rounds"])
    trial.details["samples"] = {
        "base": {"wall_s": before["data"]},
        "current": {"wall_s": after["data"]},
    }
    for name in PB_CRITERIA:  # our reading of the log agrees with the numbers
        expected = trial.details["ratios"][name] * 100 - 100 > settings.threshold_pct
        if expected != trial.flagged[name]:
            trial.error = f"{name}: log says flagged={trial.flagged[name]}, ratios say {expected}"


ARMS = {"profiler-kit": profiler_kit_trial, "pytest-benchmark": pytest_benchmark_trial}


def run_trial(trial: Trial, settings: Settings, scratch: Path, keep: bool) -> None:
    work = scratch / f"{trial.arm}-{trial.kind}-{trial.index:03d}"
    work.mkdir(parents=True)
    trial.load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    try:
        ARMS[trial.arm](trial, settings, work)
    except (CommandFailed, OSError, ValueError, KeyError, StopIteration) as error:
        trial.error = f"{type(error).__name__}: {error}"
    # the tool's commands only (not this script's bookkeeping)
    steps = ("bench_base", "save", "bench_current", "check")
    if trial.arm == "pytest-benchmark":
        steps = ("bench_base", "check")
    trial.seconds["trial"] = sum(trial.seconds.get(step, 0.0) for step in steps)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)


def schedule(counts: dict[str, dict[str, int]], seed: int) -> list[Trial]:
    """Each arm's trials shuffled, then merged so the arms alternate (ABAB) and end together."""
    rng = random.Random(seed)
    queues: dict[str, list[Trial]] = {}
    for arm, per_kind in counts.items():
        trials = [Trial(arm, kind, i) for kind in KINDS for i in range(per_kind.get(kind, 0))]
        rng.shuffle(trials)
        queues[arm] = trials
    order: list[Trial] = []
    done = dict.fromkeys(queues, 0)
    total = sum(len(q) for q in queues.values())
    while len(order) < total:
        arm = min(
            (a for a in queues if done[a] < len(queues[a])),
            key=lambda a: (done[a] / len(queues[a]), list(queues).index(a)),
        )
        order.append(queues[arm][done[arm]])
        done[arm] += 1
    return order


# --------------------------------------------------------------------------
# Checking that the workload scales


def verify_scaling(cpu_scale: float, rounds: int) -> dict[str, float]:
    """CPU time of whole runs at scale 1 and ``cpu_scale``, interleaved, in this process."""
    sys.path.insert(0, str(WORKLOAD_DIR))
    try:
        import workload_core as core
    finally:
        sys.path.pop(0)
    core.run(1.0, 1.0)
    one: list[float] = []
    more: list[float] = []
    for _ in range(rounds):
        for scale, sink in ((1.0, one), (cpu_scale, more)):
            started = time.process_time()
            core.run(scale, 1.0)
            sink.append(time.process_time() - started)
    ratios = sorted(b / a for a, b in zip(one, more, strict=True))
    return {
        "median_ratio": statistics.median(more) / statistics.median(one),
        "min_ratio": min(more) / min(one),
        "pair_ratio_p25": ratios[len(ratios) // 4],
        "pair_ratio_p75": ratios[(3 * len(ratios)) // 4],
        "cpu_ms": statistics.median(one) * 1000,
    }


# --------------------------------------------------------------------------
# Report


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(trials: list[Trial], criterion: str) -> tuple[int, int]:
    valid = [t for t in trials if t.error is None and criterion in t.flagged]
    return sum(t.flagged[criterion] for t in valid), len(valid)


def rate_cell(hits: int, n: int) -> str:
    if n == 0:
        return "no trials"
    return f"{hits}/{n} = {100 * hits / n:5.1f}%"


def verdict(kind: str, hits: int, n: int, minimum: int) -> str:
    if n == 0:
        return "-"
    value = hits / n
    met = {"aa": value <= TARGET_FP, "cpu": value >= TARGET_CPU, "alloc": value >= TARGET_ALLOC}
    word = "PASS" if met[kind] else "MISS"
    return word + ("" if n >= minimum else f" (n<{minimum})")


def quantiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)

    def q(f: float) -> float:
        return ordered[min(len(ordered) - 1, int(f * (len(ordered) - 1) + 0.5))]

    return (
        f"min {ordered[0]:.3f}  p10 {q(0.1):.3f}  p50 {q(0.5):.3f}  p90 {q(0.9):.3f}"
        f"  p95 {q(0.95):.3f}  max {ordered[-1]:.3f}"
    )


def median_of(trials: list[Trial], key: str) -> str:
    values = [t.seconds[key] for t in trials if t.error is None and key in t.seconds]
    return f"{statistics.median(values):.2f}" if values else "-"


def print_report(
    trials: list[Trial], settings: Settings, minimums: dict[str, int], incomplete: int
) -> None:
    rows = [("profiler-kit check", "profiler-kit", "check")]
    if settings.instructions:
        rows.append(("  ... timings also gating", "profiler-kit", "timings-gate"))
    rows += [
        (f"pytest-benchmark {name}:{settings.threshold_pct}%", "pytest-benchmark", name)
        for name in PB_CRITERIA
    ]
    cpu_title = f"CPU x{settings.cpu_scale:g} detected"
    alloc_title = f"allocs x{settings.alloc_scale:g} detected"
    header = (
        f"{'arm':28} {'A/A false positives':27} {cpu_title:27} {alloc_title:27}"
        f" {'check s':>8} {'bench+check s':>14} {'trial s':>8}"
    )
    print()
    print(header)
    print("-" * len(header))
    for label, arm, criterion in rows:
        mine = [t for t in trials if t.arm == arm]
        cells = []
        for kind in KINDS:
            of_kind = [t for t in mine if t.kind == kind]
            if arm == "pytest-benchmark" and kind == "alloc":
                cells.append("not measured")
                continue
            hits, n = rate(of_kind, criterion)
            cells.append(f"{rate_cell(hits, n)} {verdict(kind, hits, n, minimums[kind])}")
        print(
            f"{label:28} {cells[0]:27} {cells[1]:27} {cells[2]:27}"
            f" {median_of(mine, 'check'):>8} {median_of(mine, 'bench_and_check'):>14}"
            f" {median_of(mine, 'trial'):>8}"
        )
    print(f"{'target':28} {'<= 2% (n >= 50)':27} {'>= 95% (n >= 20)':27} {'100% (n >= 20)':27}")
    print()
    print(
        "check s: median seconds of the command that gives the verdict (profiler-kit check;"
        " for pytest-benchmark the --benchmark-compare run, which benchmarks too)."
    )
    print(
        "bench+check s: median seconds to check one commit (profiler-kit bench + check;"
        " pytest --benchmark-compare). trial s: both runs of a trial, with the baseline's."
    )
    print("pytest-benchmark mean and min verdicts come from the same runs.")
    for arm in ARMS:
        for kind in KINDS:
            criterion = "check" if arm == "profiler-kit" else "mean"
            hits, n = rate([t for t in trials if t.arm == arm and t.kind == kind], criterion)
            if n and not (arm == "pytest-benchmark" and kind == "alloc"):
                low, high = wilson(hits, n)
                print(
                    f"  95% interval of the {arm} {KIND_LABEL[kind]} rate"
                    f"{' (mean)' if arm != 'profiler-kit' else ''}:"
                    f" {100 * low:.1f}%..{100 * high:.1f}%"
                )
    errors = [t for t in trials if t.error]
    if errors:
        print(f"\n{len(errors)} trial(s) failed and are not counted:")
        for t in errors[:10]:
            print(f"  {t.arm} {t.kind} #{t.index}: {t.error}")
    if incomplete:
        print(f"\n{incomplete} trial(s) not run: the --max-minutes budget ran out.")
    print_diagnosis(trials, settings)


def print_diagnosis(trials: list[Trial], settings: Settings) -> None:
    print("\nDiagnosis (ratios are current / baseline)")
    pk = [t for t in trials if t.arm == "profiler-kit" and t.error is None]
    for kind in KINDS:
        of_kind = [t for t in pk if t.kind == kind]
        if not of_kind:
            continue
        print(f"  profiler-kit {KIND_LABEL[kind]} ({len(of_kind)} trials):")
        for metric in ("wall_s", "cpu_s"):
            entries = [
                t.details["metrics"][metric] for t in of_kind if metric in t.details["metrics"]
            ]
            ratios = [e["ratio"] for e in entries]
            slower = sum(
                1 for e in entries if e["ratio"] > 1 and e["p"] is not None and e["p"] < 0.01
            )
            big = sum(1 for r in ratios if r > 1 + settings.threshold_pct / 100)
            print(f"    {metric:7} ratio {quantiles(ratios)}")
            print(
                f"    {'':7} slower with p<0.01 in {slower},"
                f" ratio>{1 + settings.threshold_pct / 100:g} in {big},"
                f" both (= regressed) in {sum(e['regressed'] for e in entries)}"
            )
        for metric in ("instructions", "allocations", "calls", "gc_collections", "peak_bytes"):
            ratios = [
                t.details["metrics"][metric]["ratio"]
                for t in of_kind
                if metric in t.details["metrics"]
            ]
            if ratios:
                print(f"    {metric:14} ratio min {min(ratios):.4f} max {max(ratios):.4f}")
        causes: dict[str, int] = {}
        for t in of_kind:
            if t.flagged.get("check"):
                key = "+".join(t.details["regressed_metrics"]) or "(a target error)"
                causes[key] = causes.get(key, 0) + 1
        if causes:
            print("    failed on: " + ", ".join(f"{k} x{v}" for k, v in sorted(causes.items())))
        if kind == "alloc":
            on_counts = sum(
                1
                for t in of_kind
                if {"allocations", "allocated_bytes"} & set(t.details["regressed_metrics"])
            )
            print(f"    failed on an allocation count: {on_counts}/{len(of_kind)}")
            misses = [t for t in of_kind if not t.flagged.get("check")]
            for t in misses[:5]:
                print(f"    missed #{t.index}: {t.details['metrics'].get('allocations')}")
    pb = [t for t in trials if t.arm == "pytest-benchmark" and t.error is None]
    for kind in ("aa", "cpu"):
        of_kind = [t for t in pb if t.kind == kind]
        if not of_kind:
            continue
        print(f"  pytest-benchmark {KIND_LABEL[kind]} ({len(of_kind)} trials):")
        for name in ("mean", "min", "median"):
            ratios = [t.details["ratios"][name] for t in of_kind]
            print(f"    {name:7} ratio {quantiles(ratios)}")
    print_load_split(trials)
    print_what_if(trials, settings)


def print_load_split(trials: list[Trial]) -> None:
    cpus = os.cpu_count() or 1
    print(f"  A/A false positives by the 1-minute load average when the trial began ({cpus} CPUs):")
    for arm, criterion in (("profiler-kit", "check"), ("pytest-benchmark", "mean")):
        aa = [t for t in trials if t.arm == arm and t.kind == "aa" and t.load is not None]
        cells = []
        for label, low, high in (("< 1", 0, 1), (f"1..{cpus}", 1, cpus), (f">= {cpus}", cpus, 1e9)):
            hits, n = rate([t for t in aa if low <= t.load < high], criterion)
            cells.append(f"load {label}: {hits}/{n}")
        print(f"    {arm} ({criterion}): " + ", ".join(cells))


def utilisation(samples: dict[str, list[float]]) -> float:
    wall = statistics.median(samples["wall_s"])
    return statistics.median(samples["cpu_s"]) / wall if wall else 1.0


def timing_rule(metric: str, statistic: str, threshold: float, alpha: float, gate: float = 0.0):
    """A verdict from the samples: True regressed, False not, None inconclusive (gated)."""
    from profiler_kit.check.stats import mann_whitney_u

    def rule(trial: Trial) -> bool | None:
        base, current = trial.details["samples"]["base"], trial.details["samples"]["current"]
        if gate and min(utilisation(base), utilisation(current)) < gate:
            return None
        a, b = base[metric], current[metric]
        pick = min if statistic == "min" else statistics.median
        ratio = pick(b) / pick(a)
        if statistic == "min":  # as pytest-benchmark: no test, the ratio of minima alone
            return ratio > 1 + threshold
        return ratio > 1 + threshold and mann_whitney_u(a, b, "greater")[1] < alpha

    return rule


def print_what_if(trials: list[Trial], settings: Settings) -> None:
    """Other rules on the very same samples: what would have met the targets here?"""
    threshold = settings.threshold_pct / 100
    wall = timing_rule("wall_s", "median", threshold, 0.01)
    cpu = timing_rule("cpu_s", "median", threshold, 0.01)

    def either(trial: Trial) -> bool | None:
        return bool(wall(trial) or cpu(trial))

    rules = [
        ("profiler-kit", "as shipped: wall or CPU median, p<0.01 (recomputed)", either),
        ("profiler-kit", "wall median only, p<0.01", wall),
        ("profiler-kit", "CPU median only, p<0.01", cpu),
        ("profiler-kit", "CPU minima only", timing_rule("cpu_s", "min", threshold, 0.01)),
        ("profiler-kit", "wall minima only", timing_rule("wall_s", "min", threshold, 0.01)),
        (
            "profiler-kit",
            "CPU median, p<0.01; inconclusive if CPU/wall < 0.9",
            timing_rule("cpu_s", "median", threshold, 0.01, gate=0.9),
        ),
        (
            "profiler-kit",
            "CPU median, p<0.01; inconclusive if CPU/wall < 0.97",
            timing_rule("cpu_s", "median", threshold, 0.01, gate=0.97),
        ),
        (
            "pytest-benchmark",
            "profiler-kit's rule on its rounds: median, p<0.01",
            timing_rule("wall_s", "median", threshold, 0.01),
        ),
    ]
    print(
        f"  What if (the same samples, other rules; threshold {settings.threshold_pct}%;"
        " alloc = the allocation trials' timings, an A/A of timing):"
    )
    for arm, label, rule in rules:
        cells = []
        for kind in KINDS:
            if arm == "pytest-benchmark" and kind == "alloc":
                continue
            usable = [
                t
                for t in trials
                if t.arm == arm and t.kind == kind and t.error is None and "samples" in t.details
            ]
            verdicts = [rule(t) for t in usable]
            decided = [v for v in verdicts if v is not None]
            skipped = len(verdicts) - len(decided)
            cells.append(
                f"{KIND_LABEL[kind]} {sum(decided)}/{len(decided)}"
                + (f" ({skipped} inconclusive)" if skipped else "")
            )
        print(f"    {arm:16} {label:52} " + " ".join(f"{cell:28}" for cell in cells).rstrip())


# --------------------------------------------------------------------------
# Main


def default_threshold() -> int:
    try:
        from profiler_kit.check.config import CheckSettings
    except ImportError:
        return 5
    defaults = CheckSettings()
    if defaults.wall_threshold != defaults.cpu_threshold:
        print("note: profiler-kit's wall and CPU thresholds differ; using the wall one")
    return round(defaults.wall_threshold * 100)


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} CPUs)"
    except OSError:
        return "unknown"


def report_again(path: Path) -> int:
    data = json.loads(path.read_text(encoding="utf-8"))
    settings = Settings(**data["settings"])
    trials = [Trial(**record) for record in data["trials"]]
    print(f"trials of {path}: load average before {data['load_before']}")
    print_report(trials, settings, {"aa": 50, "cpu": 20, "alloc": 20}, 0)
    print(f"\nload average before: {data['load_before']}; after: {data['load_after']}")
    print(f"trials took {data['elapsed_s'] / 60:.1f} min")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring for the commands each trial runs.",
    )
    parser.add_argument("--aa", type=int, help="A/A trials per arm [50; quick 4]")
    parser.add_argument("--cpu", type=int, help="CPU-slowdown trials per arm [30; quick 3]")
    parser.add_argument("--alloc", type=int, help="allocation trials (profiler-kit) [20; quick 3]")
    parser.add_argument(
        "--repeat", type=int, help="timed rounds per bench, both arms [30; quick 15]"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first [3]")
    parser.add_argument(
        "--cpu-scale", type=float, default=1.10, help="CPU work of the slow side [1.10]"
    )
    parser.add_argument(
        "--alloc-scale", type=float, default=1.01, help="allocations of the growing side [1.01]"
    )
    parser.add_argument(
        "--threshold",
        type=int,
        help="pytest-benchmark's --benchmark-compare-fail percentage "
        "[profiler-kit's default threshold, 5]",
    )
    parser.add_argument(
        "--instructions",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="profiler-kit bench --instructions (valgrind) [on when valgrind is installed]",
    )
    parser.add_argument("--quick", action="store_true", help="a handful of trials, fewer rounds")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per command [180]")
    parser.add_argument(
        "--max-minutes", type=float, default=24.0, help="start no trial after this [24]"
    )
    parser.add_argument("--seed", type=int, default=1, help="order of the trials [1]")
    parser.add_argument("--json", type=Path, help="write every trial's record here")
    parser.add_argument("--keep", action="store_true", help="keep the trials' files (printed)")
    parser.add_argument(
        "--report-only",
        type=Path,
        metavar="JSON",
        help="print the table and diagnosis of a --json file again, run nothing",
    )
    parser.add_argument(
        "--arms",
        default="profiler-kit,pytest-benchmark",
        help="comma-separated arms to run [both]",
    )
    args = parser.parse_args(argv)
    if args.report_only:
        return report_again(args.report_only)
    quick = args.quick
    n_aa = args.aa if args.aa is not None else (4 if quick else 50)
    n_cpu = args.cpu if args.cpu is not None else (3 if quick else 30)
    n_alloc = args.alloc if args.alloc is not None else (3 if quick else 20)
    repeat = args.repeat if args.repeat is not None else (15 if quick else 30)
    threshold = args.threshold if args.threshold is not None else default_threshold()
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arm(s): {', '.join(unknown)}")
    tools = {"profiler-kit": shutil.which("profiler-kit"), "pytest": shutil.which("pytest")}
    for name, path in tools.items():
        if path is None and (name == "profiler-kit" or "pytest-benchmark" in arms):
            parser.error(f"the {name} console script is not on PATH")
    if "pytest-benchmark" in arms:
        try:
            import pytest_benchmark  # noqa: F401
        except ImportError:
            parser.error("pytest-benchmark is not installed (pip install -e '.[dev]')")
    settings = Settings(
        repeat=repeat,
        warmup=args.warmup,
        cpu_scale=args.cpu_scale,
        alloc_scale=args.alloc_scale,
        threshold_pct=threshold,
        timeout=args.timeout,
        profiler_kit=tools["profiler-kit"] or PK,
        pytest=tools["pytest"] or "pytest",
        instructions=(
            args.instructions if args.instructions is not None else bool(shutil.which("valgrind"))
        ),
    )
    counts = {arm: {"aa": n_aa, "cpu": n_cpu} for arm in arms}
    if "profiler-kit" in counts:
        counts["profiler-kit"]["alloc"] = n_alloc
    order = schedule(counts, args.seed)

    load_before = load_average()
    print(f"load average before: {load_before}")
    print(
        "trials: "
        + ", ".join(
            f"{arm}: " + " ".join(f"{k}={v}" for k, v in c.items()) for arm, c in counts.items()
        )
        + f"; --repeat {repeat} --warmup {args.warmup}; threshold {threshold}%"
        + ("; bench --instructions" if settings.instructions else "; no instruction counts")
        + f" (profiler-kit defaults: wall/CPU {default_threshold()}%, alpha 0.01)"
    )
    scaling = verify_scaling(args.cpu_scale, 9 if quick else 25)
    print(
        f"workload: a run takes {scaling['cpu_ms']:.1f} ms CPU; at x{args.cpu_scale:g} it costs"
        f" x{scaling['median_ratio']:.3f} CPU time (medians; minima x{scaling['min_ratio']:.3f};"
        f" paired ratios p25..p75 {scaling['pair_ratio_p25']:.3f}..{scaling['pair_ratio_p75']:.3f})"
    )
    scratch = Path(tempfile.mkdtemp(prefix="check-accuracy-"))
    deadline = time.monotonic() + args.max_minutes * 60
    started = time.monotonic()
    done: list[Trial] = []
    incomplete = 0
    try:
        for number, trial in enumerate(order, 1):
            if time.monotonic() > deadline:
                incomplete = len(order) - number + 1
                print(f"time budget of {args.max_minutes:g} min used up; stopping")
                break
            run_trial(trial, settings, scratch, args.keep)
            done.append(trial)
            flags = " ".join(f"{k}={'FAIL' if v else 'ok'}" for k, v in trial.flagged.items())
            print(
                f"[{number:3}/{len(order)}] {trial.arm:16} {KIND_LABEL[trial.kind]:5}"
                f" {flags or '-':22} {trial.seconds.get('trial', 0):5.1f} s"
                + (f"  load {trial.load:.1f}" if trial.load is not None else "")
                + (f"  ERROR {trial.error}" if trial.error else ""),
                flush=True,
            )
    except KeyboardInterrupt:
        incomplete = len(order) - len(done)
        print("interrupted: reporting the trials done so far")
    finally:
        if args.keep:
            print(f"trial files kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.monotonic() - started
    minimums = {"aa": 50, "cpu": 20, "alloc": 20}
    print_report(done, settings, minimums, incomplete)
    load_after = load_average()
    print(f"\nload average before: {load_before}; after: {load_after}")
    print(f"trials took {elapsed / 60:.1f} min")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "settings": asdict(settings),
                    "scaling": scaling,
                    "load_before": load_before,
                    "load_after": load_after,
                    "elapsed_s": elapsed,
                    "trials": [asdict(t) for t in done],
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        print(f"trial records written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
