"""Throughput of `profiler-kit export otlp` over http/protobuf: 10,000 captures to a real receiver.

The script

1. builds a store of N realistic captures (default 10,000) the way
   ``report_scale.py`` does, with its helpers: a small Flask shop of 20
   routes serves real requests in-process under profiler-kit's own Flask
   plugin, which gives a pool of real pyinstrument profiles; N captures are
   then minted from that pool with fresh ids, varied ``started_at`` and
   jittered wall times (not timed). ``--joined`` of them (default half) get
   a trace_id/span_id, as captures of OpenTelemetry-instrumented servers do;
2. starts the loopback OTLP/HTTP receiver of ``profiler_kit.testing.otlp_receiver`` in
   a separate process (pinned with ``taskset -c 1`` when there are two CPUs),
   so that decoding the spans is not counted as the exporter's CPU;
3. runs ``profiler-kit export otlp STORE --endpoint E --protocol http/protobuf``
   (pinned with ``taskset -c 0``) and measures its wall time and its own peak
   RSS (GNU time or a wait4 launcher, see ``report_scale.run_child``: this
   process's ``RUSAGE_CHILDREN`` would carry its own high-water mark into the
   child); checks the summary line against the spans the receiver counted;
4. repeats steps 2-3 ``--reps`` times (a fresh receiver each time) and prints
   the median spans/s against the target (at least 5,000 spans/s).

Everything is bounded: the export by ``--export-timeout``, the receiver's
start and its final count by a few seconds; the receiver is killed on exit.

    python benchmarks/otlp_export.py                       # 10,000 captures, 3 reps
    python benchmarks/otlp_export.py --quick               # 500 captures, 1 rep
    python benchmarks/otlp_export.py --captures 2000 --reps 5 --batch-size 256
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# The report benchmark's store builder and child measurement, reused as they are.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_scale import (
    REQUESTS,
    ChildRun,
    record_pool,
    run_child,
    synthesise,
)

TARGET_SPANS_PER_S = 5_000.0
SUMMARY = re.compile(r"exported (\d+) captures? as (\d+) spans? to (\S+)")

# The receiver process: prints its endpoint, then answers "count" lines on stdin
# with {"spans": ..., "requests": ...} and exits when stdin closes.
RECEIVER = """
import json, sys
from profiler_kit.testing.otlp_receiver import OtlpHttpReceiver

with OtlpHttpReceiver(keep_spans=False) as receiver:
    print(receiver.endpoint, flush=True)
    for line in sys.stdin:
        print(json.dumps({"spans": receiver.span_count, "requests": receiver.requests}),
              flush=True)
"""


def pinned(cpu: int, command: list[str], pin: bool) -> list[str]:
    """``taskset -c CPU COMMAND`` when pinning is on and possible."""
    return ["taskset", "-c", str(cpu), *command] if pin else command


def can_pin() -> bool:
    return shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2


class ReceiverProcess:
    """The OTLP/HTTP receiver in its own (pinned) process."""

    def __init__(self, pin: bool, startup_timeout: float = 20.0) -> None:
        command = pinned(1, [sys.executable, "-u", "-c", RECEIVER], pin)
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.endpoint = self._line(startup_timeout).strip()
        if not self.endpoint.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the receiver did not start: {self.endpoint!r}")

    def _line(self, timeout: float) -> str:
        """One line of the receiver's stdout, within ``timeout`` seconds."""
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise SystemExit(f"the receiver did not answer within {timeout:.0f} s")
        return self.process.stdout.readline()

    def count(self, timeout: float = 10.0) -> tuple[int, int]:
        """(spans, requests) the receiver accepted so far."""
        assert self.process.stdin is not None
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        answer = json.loads(self._line(timeout))
        return int(answer["spans"]), int(answer["requests"])

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class Rep:
    captures: int
    spans: int
    received: int
    requests: int
    run: ChildRun

    @property
    def spans_per_s(self) -> float:
        return self.spans / self.run.seconds


def export_command(store: Path, endpoint: str, options: argparse.Namespace) -> list[str]:
    script = Path(sys.executable).parent / "profiler-kit"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "profiler_kit"]
    command = [*base, "export", "otlp", str(store), "--endpoint", endpoint,
               "--protocol", "http/protobuf"]  # fmt: skip
    if options.batch_size:
        command += ["--batch-size", str(options.batch_size)]
    return command


def one_rep(store: Path, work: Path, options: argparse.Namespace, pin: bool) -> Rep:
    receiver = ReceiverProcess(pin)
    try:
        command = pinned(0, export_command(store, receiver.endpoint, options), pin)
        run = run_child(command, work, options.export_timeout)
        if run.returncode != 0:
            raise SystemExit(f"export failed ({run.returncode}):\n{run.stderr[-3000:]}")
        match = SUMMARY.search(run.stderr)
        if match is None:
            raise SystemExit(f"no summary line in the export's stderr:\n{run.stderr[-3000:]}")
        captures, spans = int(match.group(1)), int(match.group(2))
        received, requests = receiver.count()
    finally:
        receiver.close()
    if received != spans:
        raise SystemExit(f"the export says {spans} spans, the receiver counted {received}")
    return Rep(captures, spans, received, requests, run)


def add_trace_context(store: Path, fraction: float, seed: int) -> int:
    """Give ``fraction`` of the captures a (random) trace_id/span_id; returns how many."""
    if fraction <= 0:
        return 0
    db = sqlite3.connect(store)
    try:
        every = max(1, round(1 / fraction))
        with db:
            cursor = db.execute(
                "UPDATE captures SET trace_id = lower(hex(randomblob(16))), "
                "span_id = lower(hex(randomblob(8))) WHERE (rowid + ?) % ? = 0",
                (seed, every),
            )
        return int(cursor.rowcount)
    finally:
        db.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--captures", type=int, default=10_000, help="captures in the store")
    parser.add_argument("--reps", type=int, default=3, help="timed exports; the median counts")
    parser.add_argument(
        "--pool-per-route", type=int, default=5, help="real requests per route for the pool"
    )
    parser.add_argument(
        "--joined",
        type=float,
        default=0.5,
        help="fraction of captures with a trace_id/span_id (default 0.5)",
    )
    parser.add_argument(
        "--batch-size", type=int, help="passed to export otlp (default: the command's)"
    )
    parser.add_argument("--seed", type=int, default=20_250_101, help="of the synthetic store")
    parser.add_argument(
        "--export-timeout", type=float, default=600.0, help="seconds before an export is abandoned"
    )
    parser.add_argument(
        "--target", type=float, default=TARGET_SPANS_PER_S, help="spans/s the median must reach"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 500 captures, 1 rep")
    parser.add_argument("--workdir", type=Path, help="where the store goes (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the store")
    options = parser.parse_args()
    if options.quick:
        options.captures = min(options.captures, 500)
        options.reps = 1
        options.pool_per_route = min(options.pool_per_route, 2)
    pin = not options.no_pin and can_pin()
    for key in [key for key in os.environ if key.startswith("OTEL_")]:
        del os.environ[key]  # children inherit the environment: no stray exporter settings

    work = Path(tempfile.mkdtemp(prefix="pk-otlp-export-", dir=options.workdir))
    began = time.perf_counter()
    try:
        print(f"Recording the pool: {len(REQUESTS)} routes × {options.pool_per_route} requests…")
        pool = record_pool(work, options.pool_per_route, options.seed)
        store = work / "captures.sqlite3"
        synth_s = synthesise(store, options.captures, pool, options.seed)
        joined = add_trace_context(store, options.joined, options.seed)
        print(
            f"Store: {options.captures:,} captures ({joined:,} with trace context), "
            f"{store.stat().st_size / 2**20:.0f} MB, built in {synth_s:.1f} s (not timed)"
        )
        print(f"CPU pinning: {'export on CPU 0, receiver on CPU 1' if pin else 'off'}")
        reps = []
        for index in range(options.reps):
            rep = one_rep(store, work, options, pin)
            reps.append(rep)
            print(
                f"rep {index + 1}: {rep.captures:,} captures, {rep.spans:,} spans in "
                f"{rep.run.seconds:.2f} s = {rep.spans_per_s:,.0f} spans/s, "
                f"peak RSS {rep.run.peak_rss_mb:.0f} MB, {rep.requests} requests",
                flush=True,
            )
    finally:
        if options.keep:
            print(f"Kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    median = statistics.median(rep.spans_per_s for rep in reps)
    seconds = statistics.median(rep.run.seconds for rep in reps)
    rss = statistics.median(rep.run.peak_rss_mb for rep in reps)
    print()
    print(f"{'captures':>10} {'spans':>10} {'seconds':>9} {'spans/s':>10} {'peak RSS MB':>12}")
    print(
        f"{reps[0].captures:>10,} {reps[0].spans:>10,} {seconds:>9.2f} {median:>10,.0f} "
        f"{rss:>12.0f}   (median of {len(reps)})"
    )
    ok = median >= options.target
    print(f"\nTarget: [{'ok' if ok else 'MISSED'}] {median:,.0f} spans/s ≥ {options.target:,.0f}")
    print(f"Total benchmark time {time.perf_counter() - began:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
