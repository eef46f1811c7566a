"""Soak: the example apps under real servers at saturation for minutes, with profiler-kit on.

Each framework's example app (examples/flask_app.py under gunicorn, one sync
worker; examples/fastapi_app.py under one uvicorn process; examples/django_app.py
under gunicorn, one sync worker, WSGI) is served pinned to one core
(``taskset -c 0``) and loaded by ``wrk`` on another (``taskset -c 1``) with a mix
of the example's endpoints (hello, CPU-bound items, the framework's threadpool
or async variant, a streamed body, and a slow 0.6 s endpoint every
``SLOW_EVERY``-th request). Three phases, a fresh server process each, on one
store:

    bare  --bare-seconds   PROFILER_KIT_ENABLED=false: the error baseline (how many
                           socket errors wrk sees against this server without profiling)
    soak  --minutes        DEFAULT production settings: only PROFILER_KIT_STORE is set
    hot   --hot-minutes    every request profiled, with memray on every request:
                           SAMPLE_RATE=1, MEMORY=true, MEMORY_SAMPLE_RATE (--hot-memory-rate,
                           default 1), MAX_CAPTURES_PER_MINUTE=1000000 (else the default
                           budget of 60/min would keep the phase cold) and
                           RETENTION_MAX_CAPTURES=2000 (--hot-retention; 500 with --quick)
                           so that the retention bound is exercised

The apps are wrapped (benchmarks/soak_apps/) only to answer ``/_soak/stats``
outside profiler-kit's middleware: the serving process's counters (writes,
drops, skips, failures, retention), its writer's queue depth and whether the
writer is idle. Every ``--sample-every`` seconds (default 10) the soak records
the serving process's RSS (/proc, read from outside) and the store (rows,
pages in use, file and WAL sizes); the stats endpoint is read every 2 s for
the queue depth.

Checks, per framework (PASS/MISS):

* failed requests caused by profiler-kit: 0. The examples answer 200 to every
  request of the mix, so any non-2xx response is a failure. Socket errors are
  compared with the bare run's rate, and the server log is searched for
  profiler-kit failure lines, tracebacks through profiler_kit and worker
  restarts; errors are attributed to profiler-kit when the log shows such
  lines or their rate exceeds twice the bare rate (+1 per 100k requests);
* captures lost: 0 or all accounted for. At the end of each phase, once the
  writer is idle, the store's rows must equal what the counters say was
  written less what retention removed (drops are counted by name, never
  silent); the writer must go idle within 60 s;
* RSS growth of the serving process after warm-up (the first quarter of the
  phase, at most 60 s) at most 5 % (median of the last three samples against
  the first sample after warm-up);
* the store within its bound: rows at most retention_max_captures plus the
  writer's slack (retention runs once per writer.RETENTION_EVERY captures and
  a batch holds up to writer.BATCH) and pages in use at most
  retention_max_bytes. The WAL is reported besides (it grows to SQLite's
  1000-page autocheckpoint, ~4 MiB, outside the bound).

``--parallel`` runs the three frameworks at once, every server on core 0 and
every wrk on core 1: still saturating, but the throughput is then shared
between the three (compare nothing across modes); the soak's checks are about
stability, not speed.

    python benchmarks/soak.py                         # 10 + 2 minutes per framework
    python benchmarks/soak.py --quick --frameworks flask
    python benchmarks/soak.py --quick --parallel      # all three at once, ~2 minutes

The servers run a copy of profiler-kit's sources and the examples taken at the
start (``--no-snapshot`` serves the installed tree), so edits made during a
long soak change nothing. Every wait is bounded; servers and wrk are always
terminated, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOAK_APPS = HERE / "soak_apps"
FRAMEWORKS = ("flask", "fastapi", "django")
# The source tree, as setuptools maps it into the package (see pyproject.toml).
PACKAGE_DIRS = {"profiler_kit": "profiler_kit", "plugins": "profiler_kit/plugins"}

# The endpoint mix, per framework: {n} becomes a number cycling through 0..999.
MIXES = {
    "flask": ["/hello", "/items/{n}", "/items/{n}", "/stream"],
    "fastapi": ["/hello", "/items/{n}", "/sync/{n}", "/stream"],
    "django": ["/hello", "/items/{n}", "/async/{n}", "/stream"],
}
SLOW = {"flask": ["/slow"], "fastapi": ["/slow", "/slow-sync"], "django": ["/slow"]}
SLOW_EVERY = 2000  # one request in this many is a 0.6 s "slow" one (kept when slow)
STATS_PATH = "/_soak/stats"
STATS_EVERY_S = 2.0
RSS_TARGET = 0.05
HOT_RETENTION = 2000
SETTLE_TIMEOUT_S = 60.0
WRK_MARGIN_S = 60.0

STOP = threading.Event()  # set on Ctrl-C / SIGTERM: every loop ends, every child is stopped
_live: set[subprocess.Popen[Any]] = set()  # every child started here, until reaped
_live_lock = threading.Lock()
_print_lock = threading.Lock()


def log(message: str) -> None:
    with _print_lock:
        print(message, file=sys.stderr, flush=True)


def _spawn(argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    with _live_lock:
        if STOP.is_set():
            raise RuntimeError("stopping")
        process = subprocess.Popen(argv, start_new_session=True, **kwargs)
        _live.add(process)
    return process


def _terminate(process: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """SIGTERM the process group (gunicorn's workers too), SIGKILL it after ``timeout``."""
    try:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"  ! pid {process.pid} ignored SIGTERM for {timeout:.0f} s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        # The group may outlive its leader (a worker being killed): make sure.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    finally:
        with _live_lock:
            _live.discard(process)


def _terminate_all() -> None:
    with _live_lock:
        remaining = list(_live)
    for process in remaining:
        _terminate(process, timeout=10)


# -- sources -------------------------------------------------------------------


def prepare_sources(work: Path, snapshot: bool) -> Path:
    """A directory for PYTHONPATH: the examples, and with ``snapshot`` profiler-kit too."""
    src = work / "src"
    shutil.copytree(
        ROOT / "examples", src / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    if snapshot:
        for source, target in PACKAGE_DIRS.items():
            shutil.copytree(
                ROOT / source,
                src / target,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                dirs_exist_ok=True,
            )
    return src


def clean_environ(src: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILER_KIT_")}
    env["PYTHONPATH"] = str(src)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONFAULTHANDLER"] = "1"  # a crash in native code leaves its stacks in the log
    return env


def _gunicorn_isolation_args() -> list[str]:
    """Newer gunicorns open a control socket at a fixed path shared machine-wide."""
    try:
        from gunicorn.config import KNOWN_SETTINGS  # type: ignore[import-untyped]
    except ImportError:
        return []
    names = {setting.name for setting in KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


def server_command(framework: str, port: int, core: str) -> list[str]:
    py = sys.executable
    if framework == "fastapi":
        serve = [
            py, "-m", "uvicorn", "--app-dir", str(SOAK_APPS), "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log",
            "soak_fastapi:app",
        ]  # fmt: skip
    else:
        target = {"flask": "soak_flask:app", "django": "soak_django:application"}[framework]
        serve = [
            py, "-m", "gunicorn", "-w", "1", "-k", "sync", "-b", f"127.0.0.1:{port}",
            "--pythonpath", str(SOAK_APPS), "--log-level", "warning",
            "--graceful-timeout", "30", *_gunicorn_isolation_args(), target,
        ]  # fmt: skip
    return ["taskset", "-c", core, *serve]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- phases --------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    env: dict[str, str]
    title: str

    @property
    def profiled(self) -> bool:
        return self.env.get("PROFILER_KIT_ENABLED") != "false"


def phases_for(args: argparse.Namespace) -> list[Phase]:
    hot_env = {
        "PROFILER_KIT_SAMPLE_RATE": "1",
        "PROFILER_KIT_MEMORY": "true",
        "PROFILER_KIT_MEMORY_SAMPLE_RATE": str(args.hot_memory_rate),
        "PROFILER_KIT_MAX_CAPTURES_PER_MINUTE": "1000000",
        "PROFILER_KIT_RETENTION_MAX_CAPTURES": str(args.hot_retention),
    }
    return [
        Phase("bare", args.bare_seconds, {"PROFILER_KIT_ENABLED": "false"}, "profiling disabled"),
        Phase("soak", args.minutes * 60, {}, "default settings"),
        Phase(
            "hot",
            args.hot_minutes * 60,
            hot_env,
            f"sample_rate=1, memory rate {args.hot_memory_rate}, retention {args.hot_retention}",
        ),
    ]


# -- measuring -----------------------------------------------------------------


@dataclass
class Wrk:
    requests: int = 0
    rps: float = 0.0
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    p99_ms: float | None = None
    raw: str = ""

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())


def parse_wrk(out: str) -> Wrk:
    result = Wrk(raw=out)
    total = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if total is None or rps is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    result.requests, result.rps = int(total.group(1)), float(rps.group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        result.socket_errors = dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result.non_2xx = int(non_2xx.group(1)) if non_2xx else 0
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    if p99:
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
        result.p99_ms = float(p99.group(1)) * scale
    return result


def wrk_script(path: Path, framework: str) -> Path:
    mix = ", ".join(json.dumps(p) for p in MIXES[framework])
    slow = ", ".join(json.dumps(p) for p in SLOW[framework])
    path.write_text(
        f"""-- the soak's endpoint mix for {framework}
local paths = {{{mix}}}
local slow = {{{slow}}}
local n = 0
request = function()
  n = n + 1
  local path
  if n % {SLOW_EVERY} == 0 then
    path = slow[math.floor(n / {SLOW_EVERY}) % #slow + 1]
  else
    path = paths[n % #paths + 1]
  end
  path = string.gsub(path, "{{n}}", tostring(n % 1000))
  return wrk.format("GET", path)
end
"""
    )
    return path


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes] | None:
    """(status, body) of one GET, or None when there is no answer."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()
    except (OSError, http.client.HTTPException):
        return None


def http_json(port: int, path: str, timeout: float = 10.0) -> dict[str, Any] | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
    except (OSError, http.client.HTTPException):
        return None
    if response.status != 200:
        return None
    try:
        return dict(json.loads(body))
    except ValueError:
        return None


def rss_and_threads(pid: int) -> tuple[int, int] | None:
    """(RSS bytes, thread count) of a process, from /proc/PID/status."""
    rss = threads = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    except OSError:
        return None
    return (rss, threads) if rss is not None and threads is not None else None


@dataclass
class StoreSample:
    rows: int
    used_bytes: int  # pages in use: what retention_max_bytes bounds
    file_bytes: int
    wal_bytes: int


def store_sample(store: Path) -> StoreSample | None:
    if not store.exists():
        return None
    wal = Path(f"{store}-wal")
    try:
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=10)
        try:
            rows = int(db.execute("SELECT count(*) FROM captures").fetchone()[0])
            page_size, pages, free = (
                int(db.execute(f"PRAGMA {name}").fetchone()[0])
                for name in ("page_size", "page_count", "freelist_count")
            )
        finally:
            db.close()
    except sqlite3.Error as error:
        log(f"  ! cannot read {store}: {error}")
        return None
    try:
        file_bytes = store.stat().st_size
        wal_bytes = wal.stat().st_size if wal.exists() else 0
    except OSError:
        file_bytes = wal_bytes = 0
    return StoreSample(rows, (pages - free) * page_size, file_bytes, wal_bytes)


@dataclass
class PhaseResult:
    phase: Phase
    wrk: Wrk | None = None
    error: str = ""
    pids: list[int] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds into phase, bytes)
    threads: list[int] = field(default_factory=list)  # the server's thread count, with rss
    py_blocks: list[int] = field(default_factory=list)  # live Python blocks, with rss
    rss_depths: list[int] = field(default_factory=list)  # writer queue depth, with rss
    depths: list[int] = field(default_factory=list)
    queue_size: int | None = None
    max_captures: int | None = None
    max_bytes: int | None = None
    stores: list[tuple[float, StoreSample]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    idle_at_end: bool | None = None
    rows_start: int = 0
    rows_end: int = 0
    rows_after_exit: int = 0
    log_failures: list[str] = field(default_factory=list)
    log_tracebacks: int = 0
    worker_restarts: int = 0
    leftover_memray: int = 0
    log_tail: str = ""

    # -- derived -------------------------------------------------------------

    def rss_growth(self) -> tuple[float | None, int | None, int | None]:
        """(growth after warm-up, baseline bytes, final bytes) from the samples."""
        warm = min(60.0, self.phase.seconds / 4)
        after = [value for at, value in self.rss if at >= warm]
        if len(after) < 2:
            return None, None, None
        baseline = after[0]
        final = int(statistics.median(after[-3:]))
        return (final - baseline) / baseline, baseline, final

    def written_net(self) -> int:
        return self.counters.get("captures.written", 0) - self.counters.get("retention.removed", 0)


def scan_log(text: str) -> tuple[list[str], int, int]:
    """(profiler-kit failure kinds, tracebacks through profiler_kit, worker restarts)."""
    failures = re.findall(r"profiler-kit: (.+?) failed \(", text)
    tracebacks = 0
    for block in re.split(r"(?=Traceback \(most recent call last\):)", text)[1:]:
        head = "\n".join(block.splitlines()[:60])
        if "profiler_kit" in head:
            tracebacks += 1
    boots = len(re.findall(r"Booting worker with pid", text))
    restarts = max(0, boots - 1)
    restarts += len(re.findall(r"WORKER TIMEOUT|was sent SIGKILL|Worker exiting", text))
    return failures, tracebacks, restarts


def run_phase(
    framework: str,
    phase: Phase,
    *,
    work: Path,
    src: Path,
    store: Path,
    args: argparse.Namespace,
    tag: str,
) -> PhaseResult:
    result = PhaseResult(phase)
    phase_dir = work / f"{framework}-{phase.name}"
    tmpdir = phase_dir / "tmp"
    tmpdir.mkdir(parents=True)
    before = store_sample(store)
    result.rows_start = before.rows if before else 0
    port = free_port()
    env = clean_environ(src)
    env["PROFILER_KIT_STORE"] = str(store)
    env.update(phase.env)
    env["TMPDIR"] = str(tmpdir)  # memray's per-request files land here
    log_path = phase_dir / "server.log"
    script = wrk_script(phase_dir / "mix.lua", framework)
    with log_path.open("wb") as sink:
        server = _spawn(
            server_command(framework, port, args.server_core),
            cwd=phase_dir,  # no pyproject.toml above: profiler-kit's own defaults
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    load: subprocess.Popen[str] | None = None
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"server exited with {server.returncode}")
            state = http_json(port, STATS_PATH, timeout=2)
            hello = http_get(port, "/hello", timeout=5) if state is not None else None
            if hello is not None and hello[0] == 200:
                break
            if time.monotonic() > deadline or STOP.is_set():
                raise RuntimeError("server not ready in 60 s")
            time.sleep(0.2)
        seconds = max(1, round(phase.seconds))
        load = _spawn(
            [
                "taskset", "-c", args.load_core, "wrk", "-t1", f"-c{args.connections}",
                f"-d{seconds}s", "--timeout", "10s", "--latency", "-s", str(script),
                f"http://127.0.0.1:{port}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        started = time.monotonic()
        next_sample = started
        hard_stop = started + seconds + WRK_MARGIN_S
        while load.poll() is None and time.monotonic() < hard_stop and not STOP.is_set():
            if server.poll() is not None:
                raise RuntimeError(f"server exited with {server.returncode} under load")
            now = time.monotonic()
            state = http_json(port, STATS_PATH)
            if state is not None:
                if state["pid"] not in result.pids:
                    result.pids.append(state["pid"])
                if state.get("writer"):
                    result.depths.append(int(state["depth"]))
                    result.queue_size = state["queue_size"]
                    result.max_captures = state["max_captures"]
                    result.max_bytes = state["max_bytes"]
            if now >= next_sample:
                next_sample += args.sample_every
                if result.pids:
                    sampled = rss_and_threads(result.pids[-1])
                    if sampled is not None:
                        result.rss.append((now - started, sampled[0]))
                        result.threads.append(sampled[1])
                        result.py_blocks.append(int(state.get("py_blocks", 0)) if state else 0)
                        result.rss_depths.append(int(state.get("depth", 0)) if state else 0)
                sample = store_sample(store)
                if sample is not None:
                    result.stores.append((now - started, sample))
            time.sleep(max(0.0, min(STATS_EVERY_S, next_sample - time.monotonic())))
        if STOP.is_set():
            raise RuntimeError("interrupted")
        if load.poll() is None:
            raise RuntimeError(f"wrk ran {WRK_MARGIN_S:.0f} s past its -d{seconds}s")
        out = load.communicate(timeout=10)[0]
        if f"{script.name}:" in out.split("Running", 1)[0]:
            raise RuntimeError(f"wrk could not run {script}:\n{out}")
        result.wrk = parse_wrk(out)
        # Let the writer finish: idle, and counters unchanged for a second.
        settle_deadline = time.monotonic() + SETTLE_TIMEOUT_S
        previous: dict[str, int] | None = None
        while time.monotonic() < settle_deadline and not STOP.is_set():
            state = http_json(port, STATS_PATH)
            if state is not None and state.get("writer"):
                result.counters = dict(state["counters"])
                result.idle_at_end = bool(state["idle"])
                if state["idle"] and state["counters"] == previous:
                    break
                previous = dict(state["counters"])
            elif state is not None:  # profiling disabled: no writer in this process
                result.idle_at_end = True
                break
            time.sleep(1.0)
        end = store_sample(store)
        result.rows_end = end.rows if end else 0
        if end is not None:
            result.stores.append((time.monotonic() - started, end))
    except Exception as error:  # recorded; the framework's other phases still run
        result.error = f"{type(error).__name__}: {error}"
        log(f"  ! {tag} {phase.name}: {result.error}")
    finally:
        if load is not None:
            _terminate(load, timeout=5)
        _terminate(server)
    after_exit = store_sample(store)
    result.rows_after_exit = after_exit.rows if after_exit else 0
    text = log_path.read_text(errors="replace")
    result.log_failures, result.log_tracebacks, result.worker_restarts = scan_log(text)
    result.log_tail = "\n".join(text.splitlines()[-30:])
    result.leftover_memray = len(list(tmpdir.glob("profiler-kit-memray-*")))
    return result


@dataclass
class FrameworkResult:
    framework: str
    served_from: str
    phases: list[PhaseResult]
    verdicts: list[tuple[str, bool, str]] = field(default_factory=list)


def run_framework(
    framework: str, args: argparse.Namespace, work: Path, src: Path
) -> FrameworkResult:
    fw_dir = work / framework
    fw_dir.mkdir()
    store = fw_dir / "captures.sqlite3"
    where = subprocess.run(
        [sys.executable, "-c", "import profiler_kit.plugins, profiler_kit; "
         "print(profiler_kit.__file__)"],
        capture_output=True, text=True, check=False, env=clean_environ(src), cwd=fw_dir,
        timeout=60,
    ).stdout.strip()  # fmt: skip
    results = []
    for phase in phases_for(args):
        if phase.seconds <= 0 or STOP.is_set():
            continue
        log(f"{framework}: {phase.name} ({phase.title}) for {phase.seconds:.0f} s")
        results.append(
            run_phase(framework, phase, work=fw_dir, src=src, store=store, args=args, tag=framework)
        )
        done = results[-1]
        if done.wrk:
            log(
                f"{framework}: {phase.name} done: {done.wrk.requests} requests "
                f"({done.wrk.rps:.0f}/s), {done.rows_end} rows in the store"
            )
    outcome = FrameworkResult(framework, where, results)
    outcome.verdicts = judge(outcome)
    return outcome


# -- judging and printing --------------------------------------------------------------


def _slack() -> int:
    """How far the rows may exceed retention_max_captures between two retention passes."""
    try:
        from profiler_kit.web.writer import BATCH, RETENTION_EVERY
    except ImportError:
        return 96
    return RETENTION_EVERY + BATCH


def judge(outcome: FrameworkResult) -> list[tuple[str, bool, str]]:
    verdicts: list[tuple[str, bool, str]] = []
    by_name = {r.phase.name: r for r in outcome.phases}
    bare = by_name.get("bare")
    profiled = [r for r in outcome.phases if r.phase.profiled]
    broken = [r for r in outcome.phases if r.error or r.wrk is None]
    if broken:
        verdicts.append(
            ("phases ran", False, "; ".join(f"{r.phase.name}: {r.error}" for r in broken))
        )

    # 1. failed requests caused by profiler-kit
    bare_rate = 0.0
    if bare and bare.wrk and bare.wrk.requests:
        bare_rate = bare.wrk.errors / bare.wrk.requests
    details, caused = [], 0
    for r in profiled:
        if r.wrk is None:
            continue
        allowed = 2 * bare_rate * r.wrk.requests + r.wrk.requests / 100_000
        excess = r.wrk.errors if r.wrk.errors > allowed else 0
        in_log = bool(r.log_failures or r.log_tracebacks or r.worker_restarts)
        pk = r.wrk.non_2xx + (r.wrk.errors if in_log else excess)
        caused += pk
        details.append(
            f"{r.phase.name}: non-2xx {r.wrk.non_2xx}, socket errors {r.wrk.errors}"
            f"/{r.wrk.requests} {r.wrk.socket_errors or ''}, log: "
            f"{len(r.log_failures)} profiler-kit failure lines "
            f"{sorted(set(r.log_failures)) or ''}, {r.log_tracebacks} tracebacks through "
            f"profiler_kit, {r.worker_restarts} worker restarts -> {pk} attributed"
        )
    if bare and bare.wrk:
        details.insert(
            0,
            f"bare: non-2xx {bare.wrk.non_2xx}, socket errors {bare.wrk.errors}/"
            f"{bare.wrk.requests} {bare.wrk.socket_errors or ''}",
        )
    measured = all(r.wrk is not None for r in profiled) and bool(profiled)
    verdicts.append(
        ("0 failed requests caused by profiler-kit", measured and caused == 0, "; ".join(details))
    )

    # 2. captures lost: 0 or all accounted for
    ok, details = True, []
    for r in profiled:
        expected = r.rows_start + r.written_net()
        dropped = {k: v for k, v in r.counters.items() if k.startswith(("dropped.", "error."))}
        good = r.idle_at_end is True and r.rows_end == expected and r.rows_after_exit == r.rows_end
        ok &= good
        details.append(
            f"{r.phase.name}: store {r.rows_start} -> {r.rows_end} rows (after exit "
            f"{r.rows_after_exit}); counters say +{r.counters.get('captures.written', 0)} "
            f"written -{r.counters.get('retention.removed', 0)} by retention = {expected}; "
            f"dropped/failed (counted) {dropped or 0}; writer idle at end: {r.idle_at_end}"
        )
    verdicts.append(("captures lost 0 or all accounted for", ok, "; ".join(details)))

    # 3. RSS growth after warm-up
    ok, details = True, []
    for r in profiled:
        growth, base, final = r.rss_growth()
        if growth is None or base is None or final is None:
            ok = False
            details.append(f"{r.phase.name}: too few RSS samples ({len(r.rss)})")
            continue
        ok &= growth <= RSS_TARGET
        peak = max(v for _, v in r.rss)
        details.append(
            f"{r.phase.name}: {base / 2**20:.1f} -> {final / 2**20:.1f} MiB "
            f"({growth * 100:+.1f} %, peak {peak / 2**20:.1f} MiB, {len(r.rss)} samples)"
        )
    name = f"RSS growth after warm-up <= {RSS_TARGET * 100:.0f} %"
    verdicts.append((name, ok, "; ".join(details)))

    # 4. store within its bound
    ok, details = True, []
    for r in profiled:
        if not r.stores or r.max_captures is None:
            ok = False
            details.append(f"{r.phase.name}: no store samples")
            continue
        rows = max(s.rows for _, s in r.stores)
        used = max(s.used_bytes for _, s in r.stores)
        wal = max(s.wal_bytes for _, s in r.stores)
        size = max(s.file_bytes for _, s in r.stores)
        bound = r.max_captures + _slack() if r.max_captures else math.inf
        within = rows <= bound and (not r.max_bytes or used <= r.max_bytes)
        ok &= within
        reached = "reached" if r.max_captures and rows >= r.max_captures else "not reached"
        details.append(
            f"{r.phase.name}: max {rows} rows (bound {r.max_captures} + slack {_slack()}, "
            f"{reached}), pages in use {used / 2**20:.2f} MiB of {(r.max_bytes or 0) / 2**20:.0f}"
            f" MiB, file {size / 2**20:.2f} MiB, WAL up to {wal / 2**20:.2f} MiB"
        )
    verdicts.append(("store within its bound", ok, "; ".join(details)))
    return verdicts


def print_framework(outcome: FrameworkResult, parallel: bool) -> None:
    print(f"\n== {outcome.framework} ==  (profiler_kit served from {outcome.served_from})")
    header = (
        f"  {'phase':5} {'secs':>5} {'requests':>9} {'req/s':>7} {'p99 ms':>7} "
        f"{'non-2xx':>7} {'sock err':>8} {'rows':>11} {'written':>8} {'q-full':>6} "
        f"{'st-err':>6} {'budget':>7} {'mem-busy':>8} {'retained-':>9} "
        f"{'depth max/mean':>14} {'RSS MiB start->end':>19}"
    )
    print(header)
    for r in outcome.phases:
        c = r.counters
        w = r.wrk
        rss = f"{r.rss[0][1] / 2**20:.1f}->{r.rss[-1][1] / 2**20:.1f}" if r.rss else "-"
        depth = f"{max(r.depths)}/{statistics.mean(r.depths):.1f}" if r.depths else "-"
        p99 = w.p99_ms if w and w.p99_ms is not None else float("nan")
        print(
            f"  {r.phase.name:5} {r.phase.seconds:5.0f} {w.requests if w else '-':>9} "
            f"{w.rps if w else 0:7.0f} {p99:7.1f} "
            f"{w.non_2xx if w else '-':>7} {w.errors if w else '-':>8} "
            f"{f'{r.rows_start}->{r.rows_end}':>11} {c.get('captures.written', 0):>8} "
            f"{c.get('dropped.queue_full', 0):>6} {c.get('dropped.store_error', 0):>6} "
            f"{c.get('skipped.over_budget', 0):>7} {c.get('memory.busy', 0):>8} "
            f"{c.get('retention.removed', 0):>9} {depth:>14} {rss:>19}"
        )
        other = {
            k: v
            for k, v in c.items()
            if k
            not in (
                "captures.written", "dropped.queue_full", "dropped.store_error",
                "skipped.over_budget", "memory.busy", "retention.removed",
            )
        }  # fmt: skip
        notes = []
        if r.rss:
            series = ", ".join(
                f"{at:.0f}s {value / 2**20:.1f}/{threads}/{blocks / 1000:.0f}k/{depth}"
                for (at, value), threads, blocks, depth in zip(
                    r.rss, r.threads, r.py_blocks, r.rss_depths, strict=False
                )
            )
            notes.append(
                f"RSS MiB / threads / live Python blocks / queue depth over time: {series}"
            )
        if other:
            notes.append(f"other counters {other}")
        if r.leftover_memray:
            notes.append(f"{r.leftover_memray} memray temp dirs left behind")
        if len(r.pids) > 1:
            notes.append(f"served by several pids {r.pids}")
        if r.error:
            notes.append(f"ERROR {r.error}; server log tail:\n{r.log_tail}")
        for note in notes:
            print(f"        {r.phase.name}: {note}")
    for name, ok, detail in outcome.verdicts:
        print(f"  {'PASS' if ok else 'MISS'}  {name}: {detail}")
    if parallel:
        print("  (run with --parallel: the three servers shared core 0, the wrks core 1)")


# -- main -------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--minutes", type=float, default=10.0, help="default-settings phase")
    parser.add_argument("--hot-minutes", type=float, default=2.0, help="sample_rate=1 phase")
    parser.add_argument("--bare-seconds", type=float, default=30.0, help="error-baseline phase")
    parser.add_argument(
        "--hot-memory-rate", type=float, default=1.0, help="memory_sample_rate in the hot phase"
    )
    parser.add_argument(
        "--hot-retention",
        type=int,
        default=HOT_RETENTION,
        help=f"retention_max_captures in the hot phase (default {HOT_RETENTION})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 + 0.5 minutes, bare 10 s, hot retention 500"
    )
    parser.add_argument(
        "--parallel", action="store_true", help="run the frameworks at once (same two cores)"
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk -c (default 8)")
    parser.add_argument("--sample-every", type=float, default=10.0, help="RSS/store sampling, s")
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--load-core", default="1")
    parser.add_argument(
        "--no-snapshot", action="store_true", help="serve the installed profiler-kit"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.hot_minutes, args.bare_seconds = 1.0, 0.5, 10.0
        # With memray on every request a half-minute hot phase writes ~1000 captures
        # (flask, measured): a smaller bound so that retention is exercised.
        args.hot_retention = min(args.hot_retention, 500)
        args.sample_every = min(args.sample_every, 5.0)
    args.minutes = max(0.0, min(args.minutes, 24 * 60))
    args.hot_minutes = max(0.0, min(args.hot_minutes, 24 * 60))
    args.bare_seconds = max(0.0, min(args.bare_seconds, 600))
    if not 0 <= args.hot_memory_rate <= 1:
        parser.error("--hot-memory-rate must be between 0 and 1")
    return args


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    args = parse_args()
    frameworks = [f for f in args.frameworks.split(",") if f]
    for name in frameworks:
        if name not in FRAMEWORKS:
            raise SystemExit(f"unknown framework {name!r} (choose from {', '.join(FRAMEWORKS)})")
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing (apt-get install -y {tool})")
    signal.signal(signal.SIGTERM, _on_sigterm)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="pk-soak-"))
    outcomes: list[FrameworkResult] = []
    try:
        src = prepare_sources(work, snapshot=not args.no_snapshot)
        per = args.bare_seconds + (args.minutes + args.hot_minutes) * 60
        total = per if args.parallel else per * len(frameworks)
        print(
            f"soak: {', '.join(frameworks)}{' in parallel' if args.parallel else ''}; phases "
            f"bare {args.bare_seconds:.0f} s, soak {args.minutes:g} min (defaults), hot "
            f"{args.hot_minutes:g} min (sample_rate=1, memory rate {args.hot_memory_rate:g}, "
            f"retention {args.hot_retention}); servers on core {args.server_core}, wrk -t1 "
            f"-c{args.connections} on core {args.load_core}; ~{total / 60:.1f} min of load; "
            f"work dir {work}",
            flush=True,
        )
        if args.parallel:
            pool = ThreadPoolExecutor(max_workers=len(frameworks))
            try:
                futures = [pool.submit(run_framework, f, args, work, src) for f in frameworks]
                outcomes = [future.result() for future in futures]
            finally:
                STOP.set()  # a no-op after a normal end; on an interrupt, ends every loop
                _terminate_all()
                pool.shutdown(wait=True, cancel_futures=True)
        else:
            outcomes = [run_framework(f, args, work, src) for f in frameworks]
    finally:
        STOP.set()
        _terminate_all()
        for outcome in outcomes:
            print_framework(outcome, args.parallel)
        if outcomes:
            ok = all(ok for outcome in outcomes for _, ok, _ in outcome.verdicts)
            print(f"\noverall: {'PASS' if ok else 'MISS'}")
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        print(f"total time {time.monotonic() - started:.0f} s")
    return 0 if outcomes and all(ok for o in outcomes for _, ok, _ in o.verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
