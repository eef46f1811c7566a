"""Where a profiled request's cost goes, part by part, against pyinstrument's start/stop.

``web_overhead.py`` and ``web_instructions.py`` measure whole servers. This
benchmark takes a profiled request apart, in one process, without HTTP: a
synthetic request (a call chain as deep as a framework's, then a little work,
or about ``--cpu-ms`` of Python calls) is run many times under each of

    work          the request alone (the baseline every other part subtracts)
    pyinstrument  pyinstrument's Profiler started and stopped around it, the
                  session thrown away (what the documented recipes pay)
    request       profiler-kit's request path: RequestRecorder.start() and
                  finish() with sample_rate=1; the builder handed to the writer
                  is kept, not run
    assemble      running those builders: trimming, merging and encoding the
                  profile into a Capture (the writer thread's first job)
    store         appending the captures to a SQLite store in batches of 64,
                  as the writer does (its second job)

Each part is reported in microseconds per request (median of ``--reps``
rounds, wall time with the sampler thread running alongside, as on a server
core) and, with ``--callgrind``, in CPU instructions per request counted by
valgrind across all threads (the hub's sampling included). Under valgrind
clocks run ~50 times slower, so timer-driven sampling takes ~50 times more
samples per request there: instruction counts of "request" and
"pyinstrument" are overstated, and more so at the cpu workload.

    python benchmarks/request_parts.py                    # both workloads, ~1 min
    python benchmarks/request_parts.py --callgrind        # instruction counts, ~3 min
    python benchmarks/request_parts.py --workload hello --requests 2000
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PARTS = ("work", "pyinstrument", "request", "assemble", "store")
STACK_DEPTH = 30  # frames between a server's entry point and a Flask view


def _nested(depth: int, leaf: Callable[[], Any]) -> Any:
    if depth == 0:
        return leaf()
    return _nested(depth - 1, leaf)


def _hello() -> str:
    return "hello"


def _step(value: int) -> int:
    return (value * 31 + 7) % 1_000_003


def _make_cpu(rounds: int) -> Callable[[], int]:
    def cpu() -> int:
        value = 1
        for _ in range(rounds):
            value = _step(value)
        return value

    return cpu


def calibrate(target_ms: float) -> int:
    rounds = 1000
    while True:
        started = time.perf_counter()
        _make_cpu(rounds)()
        took = time.perf_counter() - started
        if took > 0.02:
            return max(1, int(rounds * target_ms / 1000 / took))
        rounds *= 2


class Parts:
    """Runs each part ``requests`` times and says what one request cost."""

    def __init__(self, workload: Callable[[], Any], requests: int, store_dir: Path) -> None:
        from profiler_kit.web.recorder import RequestRecorder

        self.work = lambda: _nested(STACK_DEPTH, workload)
        self.requests = requests
        self.store_path = store_dir / "captures.db"
        self.recorder = RequestRecorder(
            framework="bench",
            store=str(self.store_path),
            sample_rate=1.0,
            max_captures_per_minute=10**9,
            queue_size=10**9,
        )
        self.builders: list[Callable[[], Any]] = []
        self.captures: list[Any] = []
        self.recorder.writer.submit = self._keep  # type: ignore[method-assign]

    def _keep(self, builder: Callable[[], Any]) -> bool:
        self.builders.append(builder)
        return True

    def run(self, part: str) -> None:
        getattr(self, f"_{part}")()

    def _work(self) -> None:
        work = self.work
        for _ in range(self.requests):
            work()

    def _pyinstrument(self) -> None:
        from pyinstrument import Profiler

        work = self.work
        for _ in range(self.requests):
            profiler = Profiler(interval=0.001, async_mode="disabled")
            profiler.start()
            work()
            profiler.stop()

    def _request(self) -> None:
        work, start, finish = self.work, self.recorder.start, self.recorder.finish
        self.builders.clear()
        for _ in range(self.requests):
            flight = start("GET", "/bench", None, None, False)
            work()
            if flight is not None:
                finish(flight, 200, "/bench")

    def _assemble(self) -> None:
        self.captures = [capture for builder in self.builders if (capture := builder())]

    def _store(self) -> None:
        from profiler_kit.store import open_store

        if self.store_path.exists():
            self.store_path.unlink()
        store = open_store(self.store_path)
        try:
            for first in range(0, len(self.captures), 64):
                store.add_many(self.captures[first : first + 64])
        finally:
            store.close()


def measure_times(parts: Parts, reps: int) -> dict[str, float]:
    """Median microseconds per request of each part over ``reps`` rounds."""
    seconds: dict[str, list[float]] = {part: [] for part in PARTS}
    for _ in range(reps):
        for part in PARTS:
            started = time.perf_counter()
            parts.run(part)
            seconds[part].append(time.perf_counter() - started)
    return {part: statistics.median(s) / parts.requests * 1e6 for part, s in seconds.items()}


def measure_instructions(parts: Parts) -> None:
    """Under callgrind: one dump per part, labelled with its name (read by the parent)."""
    from profiler_kit.check.valgrind_requests import CallgrindControl

    control = CallgrindControl()
    for part in PARTS:
        parts.run(part)  # warm-up round, uncounted (the store part needs the builders)
    control.start_instrumentation()
    for part in PARTS:
        control.zero()
        parts.run(part)
        control.dump(f"part-{part}")


def table(values: dict[str, float], unit: str, fmt: str) -> list[str]:
    work = values["work"]
    lines = [f"  {'part':14} {unit:>14} {'added':>14}"]
    for part in PARTS:
        added = values[part] - work if part in ("pyinstrument", "request") else values[part]
        shown = "" if part == "work" else format(added, fmt)
        lines.append(f"  {part:14} {format(values[part], fmt):>14} {shown:>14}")
    profiled = values["request"] - work + values["assemble"] + values["store"]
    pyinstrument = values["pyinstrument"] - work
    lines.append(
        f"  profiled request added {format(profiled, fmt)} vs pyinstrument start/stop "
        f"{format(pyinstrument, fmt)}: ratio {profiled / pyinstrument:.2f}"
        if pyinstrument > 0
        else f"  profiled request added {format(profiled, fmt)}"
    )
    return lines


def run_callgrind(args: argparse.Namespace) -> dict[str, float]:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is missing (apt-get install -y valgrind)")
    with tempfile.TemporaryDirectory(prefix="pk-parts-cg-") as directory:
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={directory}/callgrind.out.%p",
            sys.executable, __file__, "--inside-callgrind",
            "--workload", args.workload, "--requests", str(args.requests),
            "--cpu-rounds", str(args.cpu_rounds),
        ]  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        totals: dict[str, float] = {}
        for path in Path(directory).glob("callgrind.out.*"):
            text = path.read_text(errors="replace")
            label = re.search(r"Client Request: part-(\w+)", text)
            total = re.search(r"^totals: (\d+)", text, re.M)
            if label and total:
                totals[label.group(1)] = int(total.group(1)) / args.requests
        missing = set(PARTS) - set(totals)
        if missing:
            raise SystemExit(f"callgrind wrote no dump for {sorted(missing)}")
        return totals


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workload", choices=("hello", "cpu", "both"), default="both")
    parser.add_argument("--requests", type=int, default=0, help="per round (default by workload)")
    parser.add_argument("--reps", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--cpu-ms", type=float, default=5.0, help="cpu workload (default 5 ms)")
    parser.add_argument("--cpu-rounds", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    parser.add_argument("--inside-callgrind", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    workloads = ("hello", "cpu") if args.workload == "both" else (args.workload,)
    if args.cpu_rounds <= 0:
        args.cpu_rounds = calibrate(args.cpu_ms)
    if args.inside_callgrind:
        workload = _hello if args.workload == "hello" else _make_cpu(args.cpu_rounds)
        with tempfile.TemporaryDirectory(prefix="pk-parts-") as directory:
            measure_instructions(Parts(workload, args.requests, Path(directory)))
        return
    import profiler_kit

    version = sys.version.split()[0]
    print(f"python {version}; cpu = {args.cpu_rounds} rounds; {profiler_kit.__file__}")
    for name in workloads:
        requests = args.requests or {"hello": 2000, "cpu": 200}[name]
        if args.callgrind:
            requests = args.requests or {"hello": 300, "cpu": 10}[name]
            sub = argparse.Namespace(**{**vars(args), "workload": name, "requests": requests})
            print(f"\n{name}: CPU instructions per request ({requests} requests, all threads)")
            print("\n".join(table(run_callgrind(sub), "instructions", ",.0f")))
            continue
        workload = _hello if name == "hello" else _make_cpu(args.cpu_rounds)
        with tempfile.TemporaryDirectory(prefix="pk-parts-") as directory:
            parts = Parts(workload, requests, Path(directory))
            parts.run("request")  # warm up: imports, the hub, the store's schema
            values = measure_times(parts, args.reps)
        print(f"\n{name}: microseconds per request ({requests} requests x {args.reps} rounds)")
        print("\n".join(table(values, "us", ",.1f")))


if __name__ == "__main__":
    main()
