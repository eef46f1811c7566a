"""Crash hunt: memory capture (memray) on every request of a FastAPI app under uvicorn.

Reproduces a reported segfault: one uvicorn worker serving a FastAPI app
whose single ``async def`` endpoint builds, json-dumps and json-loads 1,500
small dicts (about 5 ms of CPU), with ``ProfilerMiddleware(sample_rate=1,
memory=True, memory_sample_rate=1, max_captures_per_minute=10_000_000)``.
Each run starts a fresh server pinned to one core (``taskset -c 0``), loads it
with ``wrk -t1 -c8`` for ``--seconds-per-run`` seconds from another core
(``taskset -c 1``, 127.0.0.1 only), then stops it. Per run and in total it
reports whether the server crashed (the signal, and the faulthandler dump
from its log: PYTHONFAULTHANDLER=1), the requests wrk saw served, the
captures in the run's store (rows of its SQLite file) and, at the end,
crashes per minute of load. A run whose server dies ends its load there.

The server runs ``--python`` (any interpreter with profiler-kit, fastapi and
uvicorn installed, e.g. another venv's) from a temporary directory, so it
serves whatever profiler-kit that interpreter imports, with no
``PROFILER_KIT_*`` variable and no pyproject.toml in the way.

``--core-dir DIR`` lifts the core size limit of the server (RLIMIT_CORE) and
gathers its core files into DIR. Where the kernel writes them is
/proc/sys/kernel/core_pattern's business (root only): a relative pattern
(``core``) writes into the server's working directory, from which they are
moved; an absolute one should point into DIR.

``--gc-threshold N`` sets the server's ``gc.set_threshold(N)``: collections
far more often than the default 700, an amplifier for the race behind the
reported crash (memray's shadow stack of another thread, see
profiler_kit/capture/memory.py). The reported setup leaves it alone; it only makes a
before/after comparison affordable (measured before the fix: about 0.07
crashes per minute of load with the default, about 4 with 20).

Counts: captures can exceed requests (the readiness probe is captured, and
requests still in flight when wrk stops are served) or fall short (uvicorn
re-raises SIGTERM after its shutdown, so the writer's exit flush does not run).

    python benchmarks/memory_crash.py --minutes 10
    python benchmarks/memory_crash.py --runs 3 --python path/to/venv/bin/python
    python benchmarks/memory_crash.py --minutes 20 --core-dir DIR --stop-after-crashes 2
    python benchmarks/memory_crash.py --minutes 5 --gc-threshold 20

Every loop and wait is bounded (runs by --runs or --minutes, each wait by a
timeout); the server and wrk are always stopped, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APP = '''\
"""The reported app: one async endpoint of about 5 ms CPU, memory capture on every request."""

import gc
import json
import os

from fastapi import FastAPI

from profiler_kit.plugins.fastapi import ProfilerMiddleware

# --gc-threshold: more frequent collections, to meet the race sooner (default: untouched).
if os.environ.get("MEMORY_CRASH_GC_THRESHOLD"):
    gc.set_threshold(int(os.environ["MEMORY_CRASH_GC_THRESHOLD"]))

app = FastAPI()
app.add_middleware(
    ProfilerMiddleware,
    sample_rate=1,
    memory=True,
    memory_sample_rate=1,
    max_captures_per_minute=10_000_000,
)


@app.get("/items")
async def items():
    items = [{"id": i, "name": f"item-{i}", "price": i * 0.25, "tags": ["a"]} for i in range(1500)]
    decoded = json.loads(json.dumps(items))
    return {"items": len(decoded), "total": sum(item["price"] for item in decoded)}
'''

VERSIONS = """\
import sys
from importlib.metadata import version

import profiler_kit

print(sys.version.split()[0], *(f"{name} {version(name)}" for name in ("memray", "pyinstrument")),
      "profiler_kit from", profiler_kit.__file__)
"""

PATH = "/items"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
WRK_MARGIN_S = 30.0
FAULT_LINES = 80  # of the faulthandler dump shown per crashed run

_children: set[subprocess.Popen[Any]] = set()


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: stop what runs and report what was measured."""


def _on_signal(signum: int, _frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _spawn(argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    process = subprocess.Popen(argv, start_new_session=True, **kwargs)
    _children.add(process)
    return process


def _stop(process: subprocess.Popen[Any], sig: int = signal.SIGTERM) -> None:
    """Signal the process group, then SIGKILL it if it is still there after a while."""
    try:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # anything left in the group
    finally:
        _children.discard(process)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, server: subprocess.Popen[Any], timeout: float) -> bool:
    """Whether the server answers HTTP within ``timeout`` (a bounded poll)."""
    deadline = time.monotonic() + timeout
    request = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(request)
                if sock.recv(16).startswith(b"HTTP/1.1 200"):
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _captures(store: Path) -> int | None:
    """Rows in the run's capture store (None when there is no readable store)."""
    if not store.exists():
        return None
    try:
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=10)
        try:
            return int(db.execute("SELECT count(*) FROM captures").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return None


def _wrk_requests(out: str) -> int | None:
    found = re.search(r"(\d+) requests in", out)
    return int(found.group(1)) if found else None


def _fault_dump(log: str) -> list[str]:
    """The faulthandler dump in a server log: from 'Fatal Python error' on."""
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Fatal Python error"):
            return lines[index : index + FAULT_LINES]
    return []


def _exit_text(code: int | None) -> str:
    if code is None:
        return "running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-code).name
    return f"exit {code}"


@dataclass
class Run:
    number: int
    load_s: float = 0.0
    crashed: bool = False
    exit_code: int | None = None
    requests: int | None = None
    captures: int | None = None
    fault: list[str] = field(default_factory=list)
    cores: list[Path] = field(default_factory=list)
    error: str = ""


def _core_limit() -> None:  # runs in the server's child process, before exec
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _gather_cores(run_dir: Path, core_dir: Path, pid: int, since: float) -> list[Path]:
    """Core files of the crashed server: moved from its directory, or found in ``core_dir``."""
    found: list[Path] = []
    for candidate in sorted(run_dir.glob("core*")):
        target = core_dir / f"{candidate.name}.{pid}"
        shutil.move(str(candidate), target)
        found.append(target)
    for candidate in sorted(core_dir.glob(f"*{pid}*")):
        with contextlib.suppress(OSError):
            if candidate.stat().st_mtime >= since and candidate not in found:
                found.append(candidate)
    return found


def run_once(number: int, args: argparse.Namespace, work: Path) -> Run:
    result = Run(number)
    run_dir = work / f"run-{number:03d}"
    run_dir.mkdir()
    store = run_dir / "captures.sqlite3"
    log_path = run_dir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILER_KIT_")}
    env.pop("PYTHONPATH", None)
    env.pop("MEMORY_CRASH_GC_THRESHOLD", None)
    env.update(
        PYTHONFAULTHANDLER="1",
        PYTHONDONTWRITEBYTECODE="1",
        PROFILER_KIT_STORE=str(store),
    )
    if args.gc_threshold:
        env["MEMORY_CRASH_GC_THRESHOLD"] = str(args.gc_threshold)
    port = _free_port()
    server_argv = [
        "taskset", "-c", args.server_core, args.python, "-m", "uvicorn",
        "--app-dir", str(work), "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--log-level", "warning", "--no-access-log", "app:app",
    ]  # fmt: skip
    wrk_argv = [
        "taskset", "-c", args.wrk_core, args.wrk, "-t1", f"-c{args.connections}",
        f"-d{args.seconds_per_run}s", f"http://127.0.0.1:{port}{PATH}",
    ]  # fmt: skip
    started = time.time()
    with log_path.open("wb") as log:
        server = _spawn(
            server_argv,
            cwd=run_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_core_limit if args.core_dir else None,
        )
    wrk: subprocess.Popen[Any] | None = None
    try:
        if not _wait_ready(port, server, READY_TIMEOUT_S):
            result.error = "the server did not answer"
        else:
            wrk = _spawn(wrk_argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            load_start = time.monotonic()
            deadline = load_start + args.seconds_per_run + WRK_MARGIN_S
            # Watch both: a server that dies ends the run's load there.
            while wrk.poll() is None and time.monotonic() < deadline:
                if server.poll() is not None:
                    result.load_s = time.monotonic() - load_start
                    _stop(wrk, signal.SIGINT)  # wrk prints its totals on SIGINT
                    break
                time.sleep(0.05)
            else:
                result.load_s = min(time.monotonic() - load_start, args.seconds_per_run)
            if wrk.poll() is None:  # past the deadline
                _stop(wrk, signal.SIGINT)
                result.error = "wrk overran its time"
            out = wrk.stdout.read() if wrk.stdout else ""
            result.requests = _wrk_requests(out)
    finally:
        if wrk is not None:
            _stop(wrk, signal.SIGINT)
            if wrk.stdout:
                wrk.stdout.close()
        # Died by itself (during the load or right after it) is a crash; else
        # a clean stop, which lets the writer flush its queue at exit.
        result.crashed = server.poll() is not None
        _stop(server)
        result.exit_code = server.returncode
    log_text = log_path.read_text(errors="replace")
    result.fault = _fault_dump(log_text)
    if result.crashed and not result.load_s:
        result.error = result.error or "the server died before the load"
    if args.core_dir and result.crashed:
        result.cores = _gather_cores(run_dir, Path(args.core_dir), server.pid, started)
    result.captures = _captures(store)
    return result


def _report_run(run: Run, args: argparse.Namespace) -> None:
    status = f"CRASH {_exit_text(run.exit_code)}" if run.crashed else "ok"
    print(
        f"run {run.number:3d}: {status:<14} load {run.load_s:5.1f} s  "
        f"requests {run.requests if run.requests is not None else '?':>6}  "
        f"captures {run.captures if run.captures is not None else '?':>6}"
        + (f"  ({run.error})" if run.error else ""),
        flush=True,
    )
    if run.crashed and run.fault and not args.quiet_faults:
        for line in run.fault:
            print(f"    | {line}")
    for core in run.cores:
        print(f"    core: {core}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Runs: --runs, else as many as --minutes of load take.",
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of load (default 10)")
    parser.add_argument("--runs", type=int, help="number of runs (overrides --minutes)")
    parser.add_argument("--seconds-per-run", type=int, default=10, help="load per run (10)")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter of the server (default: this one)"
    )
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk", help="the wrk binary")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--server-core", default="0", help="taskset CPU list of the server (0)")
    parser.add_argument("--wrk-core", default="1", help="taskset CPU list of wrk (1)")
    parser.add_argument(
        "--gc-threshold",
        type=int,
        help="gc.set_threshold() of the server's generation 0 (an amplifier; default untouched)",
    )
    parser.add_argument("--core-dir", help="lift the server's core size limit; gather cores here")
    parser.add_argument("--keep", action="store_true", help="keep the runs' logs and stores")
    parser.add_argument("--stop-after-crashes", type=int, default=0, help="stop after N (0: never)")
    parser.add_argument("--quiet-faults", action="store_true", help="do not print fault dumps")
    args = parser.parse_args(argv)
    if args.seconds_per_run < 1:
        parser.error("--seconds-per-run must be at least 1")
    if args.runs is None:
        args.runs = max(1, math.ceil(args.minutes * 60 / args.seconds_per_run))
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.core_dir:
        Path(args.core_dir).mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
            print(f"core_pattern: {pattern}")
    version = subprocess.run(
        [args.python, "-c", VERSIONS],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tempfile.gettempdir(),
        check=False,
    )
    print(f"server: {args.python}: {version.stdout.strip() or version.stderr.strip()}")
    print(
        f"{args.runs} runs x {args.seconds_per_run} s, wrk -t1 -c{args.connections} on core "
        f"{args.wrk_core}, server on core {args.server_core}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    work = Path(tempfile.mkdtemp(prefix="memory-crash-"))
    (work / "app.py").write_text(APP)
    runs: list[Run] = []
    crashes = 0
    try:
        for number in range(1, args.runs + 1):
            run = run_once(number, args, work)
            runs.append(run)
            _report_run(run, args)
            if not (args.keep or run.crashed):
                shutil.rmtree(work / f"run-{number:03d}", ignore_errors=True)
            crashes += run.crashed
            if args.stop_after_crashes and crashes >= args.stop_after_crashes:
                print(f"stopping: {crashes} crash(es)")
                break
    except Interrupted as stop:
        print(f"interrupted ({stop}): reporting the runs done")
    finally:
        for child in list(_children):
            _stop(child, signal.SIGKILL)
        if args.keep or any(run.crashed for run in runs):
            print(f"logs and stores kept in {work} (all runs with --keep, else the crashed ones)")
        else:
            shutil.rmtree(work, ignore_errors=True)
    load_min = sum(run.load_s for run in runs) / 60
    requests = sum(run.requests or 0 for run in runs)
    captures = sum(run.captures or 0 for run in runs)
    print(
        f"total: {len(runs)} runs, {load_min:.2f} min of load, {crashes} crash(es), "
        f"{requests} requests, {captures} captures"
    )
    rate = crashes / load_min if load_min else float("nan")
    print(f"crashes per minute of load: {rate:.3f}")
    crashed = [run.number for run in runs if run.crashed]
    if crashed:
        print(f"crashed runs: {', '.join(map(str, crashed))}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
