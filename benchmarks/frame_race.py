"""Stress the sampler hub's frame reads against collections that let go of the GIL.

On CPython 3.11, making the frame object of another thread's running function
can run a garbage collection halfway; a finalizer that lets go of the GIL then
lets that thread pop the frame (a use-after-free) or, inside
``sys._current_frames()``, deadlocks against a thread that is exiting. The hub
pauses the collector while it reads frames on 3.11. This script makes the
window wide (a low collection threshold, finalizers that sleep, a tiny switch
interval, workers that exit at the end) and runs the hub's sampling step in a loop,
in child processes with a deadline, once as shipped and once with the pause
turned off, and prints how many runs deadlocked or crashed.

    python benchmarks/frame_race.py --runs 6 --seconds 10

Every run is bounded by ``--seconds`` plus a grace period; a run still alive
after that is killed, and counts as deadlocked if it used no CPU in its last
second (else as slow: finalizers that wait for the GIL can pile up faster
than one collection works through them, with or without the pause).
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import threading
import time

GRACE_S = 20.0
FINALIZER_EVERY = 4


class _FinalizerThatYields:
    """Cyclic garbage whose finalizer lets go of the GIL during a collection."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        time.sleep(0)


def _deep(n: int) -> int:
    return _deep(n - 1) + 1 if n else 0


def child(seconds: float, guarded: bool) -> None:
    """One bounded run: two workers and a thread running the hub's sampling step."""
    from profiler_kit import sampler

    sampler._PAUSE_GC_WHILE_READING_FRAMES = guarded and sys.version_info[:2] == (3, 11)
    # Skip building the strings, so the hub's step is nearly all frame reads
    # (the window) rather than string work, as in a hub with deep stacks.
    sampler.identifiers_of = lambda raw: []
    stop = threading.Event()

    def work() -> None:
        # Few enough finalizers that collections keep up (each one waits for
        # the GIL back); with one per call, a collection run by the hub after
        # a pause never catches up with two threads making more.
        calls = 0
        while not stop.is_set():
            calls += 1
            if calls % FINALIZER_EVERY == 0:
                _FinalizerThatYields()
            _deep(30)

    samples = 0

    def sample(targets: list[sampler.SampleTarget]) -> None:
        nonlocal samples
        hub, own = sampler.SamplerHub(), threading.get_ident()
        while not stop.is_set():
            hub._sample(targets, time.perf_counter(), own)
            for target in targets:
                samples += len(target.records)
                target.records.clear()

    gc.set_threshold(20, 100, 100)
    sys.setswitchinterval(1e-5)
    workers = [threading.Thread(target=work, daemon=True) for _ in range(2)]
    for worker in workers:
        worker.start()
    targets = [sampler.SampleTarget(w.ident or 0, 0.0) for w in workers]
    hub_thread = threading.Thread(target=sample, args=(targets,), daemon=True)
    hub_thread.start()
    time.sleep(seconds)
    stop.set()  # the workers exit while the hub may still hold the thread list
    hub_thread.join()
    print(samples, flush=True)


def _cpu_ticks(pid: int) -> int:
    """User plus system time of a process so far, in clock ticks."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def run(guarded: bool, seconds: float) -> str:
    """``ok`` (with the sample count), ``deadlocked``, ``slow`` or ``crashed``.

    A run past its deadline is told apart by its CPU use over a second: a
    deadlock waits on locks and uses none, a run that is only slow (a
    collection working through a pile of finalizers) uses a core.
    """
    command = [sys.executable, __file__, "--child", "--seconds", str(seconds)]
    if not guarded:
        command.append("--unguarded")
    child_process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        out, _ = child_process.communicate(timeout=seconds + GRACE_S)
    except subprocess.TimeoutExpired:
        before = _cpu_ticks(child_process.pid)
        time.sleep(1.0)
        used = _cpu_ticks(child_process.pid) - before
        child_process.kill()
        child_process.communicate()
        return "deadlocked" if used <= 2 else "slow"
    if child_process.returncode != 0:
        return f"crashed (exit {child_process.returncode})"
    return f"ok ({out.strip()} samples)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=6, help="runs per variant (default 6)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of a run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--unguarded", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.seconds, guarded=not args.unguarded)
        return
    print(f"Python {sys.version.split()[0]}, {args.runs} runs of {args.seconds:g} s per variant")
    for label, guarded in (("as shipped", True), ("pause off", False)):
        outcomes = [run(guarded, args.seconds) for _ in range(args.runs)]
        bad = sum(o == "deadlocked" or o.startswith("crashed") for o in outcomes)
        print(f"{label:>10}: {bad}/{len(outcomes)} deadlocked or crashed  " + ", ".join(outcomes))


if __name__ == "__main__":
    main()
