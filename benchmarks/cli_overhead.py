"""Wall time of `profiler-kit run` against pyinstrument's and memray's own CLIs.

Every variant runs on the bundled example in a fresh interpreter, interleaved
round by round so that machine noise hits all of them alike; medians are
compared as ratios measured in the same invocation. The target compares
``profiler-kit run -o FILE`` (which writes an HTML report) with pyinstrument
writing its HTML report (``-r html -o FILE``); pyinstrument's text output is
shown for information.

Bytecode caching is on for the children (``PYTHONDONTWRITEBYTECODE`` is
removed from their environment) and one warm-up round writes the caches
first: an installed package has its ``.pyc`` files (pip compiles them), and
without them a fresh interpreter compiles profiler-kit's modules on every
run (measured: ~25 ms of a ~70 ms fixed cost) while pyinstrument's, in
site-packages, come compiled.

    python benchmarks/cli_overhead.py --rounds 7 --size 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "hotspots.py"


def variants(work: Path, size: str) -> dict[str, list[list[str]]]:
    py = sys.executable
    script = [str(EXAMPLE), "--size", size]
    store = str(work / "bench.sqlite3")
    report = str(work / "bench.html")
    pyinstrument_report = str(work / "bench-pyinstrument.html")
    memray_file = str(work / "bench.bin")
    return {
        "python": [[py, *script]],
        "pyinstrument CLI": [[py, "-m", "pyinstrument", *script]],
        "pyinstrument -r html -o": [
            [py, "-m", "pyinstrument", "-r", "html", "-o", pyinstrument_report, *script]
        ],
        "profiler-kit run": [
            [py, "-m", "profiler_kit", "run", "--store", store, "-o", report, *script]
        ],
        "memray run + stats": [
            [py, "-m", "memray", "run", "-f", "-q", "-o", memray_file, *script],
            [py, "-m", "memray", "stats", memray_file],
        ],
        "profiler-kit run --memory": [
            [py, "-m", "profiler_kit", "run", "--memory", "--store", store, "-o", report, *script]
        ],
    }


CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_commands(commands: list[list[str]], cwd: Path) -> float:
    started = time.perf_counter()
    for command in commands:
        subprocess.run(
            command,
            cwd=cwd,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=CHILD_ENV,
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--size", default="3", help="examples/hotspots.py --size")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pk-bench-"))
    try:
        runs = variants(work, options.size)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for commands in runs.values():  # warm the page cache and write the bytecode caches
            time_commands(commands, work)
        for round_number in range(options.rounds):
            order = list(runs)
            if round_number % 2:
                order.reverse()
            for name in order:
                times[name].append(time_commands(runs[name], work))
            print(f"round {round_number + 1}/{options.rounds} done", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'variant':28} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, values in times.items():
        print(f"{name:28} {medians[name]:9.3f} {min(values):7.3f} {max(values):7.3f}")
    cpu_ratio = medians["profiler-kit run"] / medians["pyinstrument -r html -o"]
    text_ratio = medians["profiler-kit run"] / medians["pyinstrument CLI"]
    mem_ratio = medians["profiler-kit run --memory"] / medians["memray run + stats"]
    print(f"\nprofiler-kit run / pyinstrument -r html -o   = {cpu_ratio:.3f}  (target <= 1.05)")
    print(f"profiler-kit run / pyinstrument CLI (text)   = {text_ratio:.3f}  (for information)")
    print(f"profiler-kit run --memory / memray run+stats = {mem_ratio:.3f}  (target < 1)")
    baseline_ratio = medians["pyinstrument CLI"] / medians["python"]
    print(f"pyinstrument CLI / python                    = {baseline_ratio:.3f}")


if __name__ == "__main__":
    main()
