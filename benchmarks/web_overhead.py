"""Requests/s of Flask, FastAPI and Django apps with and without profiler-kit.

Each framework serves a hello endpoint and a CPU-bound endpoint of about 5 ms
(a SHA-256 chain calibrated on the server's core) from one process pinned to
one core (``taskset -c 0``: Flask and Django under ``gunicorn -w 1`` sync,
FastAPI under a single uvicorn process), while ``wrk`` runs on the other core.
The variants, all measured in the same run and interleaved per repetition:

    a  bare app
    b  a do-nothing middleware (the cost of any middleware at all)
    c  profiler-kit installed, PROFILER_KIT_ENABLED=false
    d  profiler-kit with default settings (sample_rate=0.01, slow_ms=500)
    e  profiler-kit profiling every request (sample_rate=1, no budget limit)
    f  profiler-kit with memray on every request
    g  pyinstrument's per-request recipe, its profile discarded (profiling alone)
    h  pyinstrument's per-request recipe as documented: each profile rendered
       and written to a file (profiler-kit keeps each capture too)

Medians over the repetitions are reported with ratios to the bare app of the
same run ("vs a": ratio of medians; "paired": median of the per-repetition
ratios). Next to req/s, the server's own CPU time per request (all its
threads, from /proc) is reported: it is much less sensitive to other load on
the machine. A timed run during which other processes took more than
``--noise-limit`` % of the server's core is measured again (``--retries``
times at most) and the least disturbed attempt is kept.

In variants c-f the capture store (SQLite, in a temporary dir on local disk)
is counted after each timed run and after the server exits, so a capture path
that silently drops its work cannot look fast. The servers run a copy of
profiler-kit's sources taken at the start (``--no-snapshot`` to serve the
live tree), so edits made while the benchmark runs do not mix versions.

    python benchmarks/web_overhead.py                 # full run, ~20 minutes
    python benchmarks/web_overhead.py --quick         # smoke run, ~3 minutes
    python benchmarks/web_overhead.py --only-profile --profile flask:d:hello

``--profile FRAMEWORK:VARIANT:ENDPOINT`` samples the server with py-spy under
load after (and outside) the timed runs and prints where its time went.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
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
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from profiler_kit.reports.aggregate_data import short_file

APPS = Path(__file__).resolve().parent / "apps"
ROOT = APPS.parent.parent
# The source tree, as setuptools maps it into the package (see pyproject.toml).
PACKAGE_DIRS = {"profiler_kit": "profiler_kit", "plugins": "profiler_kit/plugins"}
FRAMEWORKS = ("flask", "fastapi", "django")
ENDPOINTS = ("hello", "cpu")

# With default settings the per-minute capture budget starts full: the first
# 60 sampled requests after start-up are all captured, then one a second. A
# service meets that burst once per process lifetime, so d warms up until it
# is spent (1 % of a few thousand requests a second) and the timed run
# measures the steady state.
BUDGET_DRAIN_S = 5

_BUDGET = {
    "PROFILER_KIT_MAX_CAPTURES_PER_MINUTE": "1000000",
    "PROFILER_KIT_QUEUE_SIZE": "100000",
}


@dataclass(frozen=True)
class Variant:
    letter: str
    app_variant: str  # BENCH_VARIANT for the app
    title: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def uses_store(self) -> bool:
        return self.app_variant == "pk"


VARIANTS = {
    v.letter: v
    for v in (
        Variant("a", "bare", "bare app"),
        Variant("b", "noop", "do-nothing middleware"),
        Variant("c", "pk", "profiler-kit disabled", {"PROFILER_KIT_ENABLED": "false"}),
        Variant("d", "pk", "profiler-kit defaults"),
        Variant(
            "e", "pk", "profiler-kit sample_rate=1", {"PROFILER_KIT_SAMPLE_RATE": "1", **_BUDGET}
        ),
        Variant(
            "f",
            "pk",
            "profiler-kit memory every request",
            {"PROFILER_KIT_MEMORY": "true", "PROFILER_KIT_MEMORY_SAMPLE_RATE": "1", **_BUDGET},
        ),
        Variant("g", "pyinstrument", "pyinstrument recipe, discarded"),
        Variant("h", "pyinstrument-kept", "pyinstrument recipe as documented"),
    )
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- servers ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(framework: str, port: int, core: str) -> list[str]:
    py = sys.executable
    if framework == "fastapi":
        serve = [
            py, "-m", "uvicorn", "--app-dir", str(APPS), "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log",
            "bench_fastapi:app",
        ]  # fmt: skip
    else:
        target = {"flask": "bench_flask:app", "django": "bench_django:application"}[framework]
        serve = [
            py, "-m", "gunicorn", "-w", "1", "-k", "sync", "-b", f"127.0.0.1:{port}",
            "--pythonpath", str(APPS), "--log-level", "warning", "--graceful-timeout", "30",
            "--no-control-socket", target,
        ]  # fmt: skip
    return ["taskset", "-c", core, *serve]


_SNAPSHOT: Path | None = None


def clean_environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROFILER_KIT_", "BENCH_"))}
    env.pop("PYTHONPATH", None)
    if _SNAPSHOT is not None:
        env["PYTHONPATH"] = str(_SNAPSHOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def source_fingerprint(root: Path) -> tuple[str, str]:
    """A hash of profiler-kit's Python sources and the newest file's time."""
    digest = hashlib.sha256()
    newest = 0.0
    for source, _ in PACKAGE_DIRS.items():
        for file in sorted((root / source).rglob("*.py")):
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
            newest = max(newest, file.stat().st_mtime)
    return digest.hexdigest()[:12], time.strftime("%H:%M:%S", time.localtime(newest))


def snapshot_sources(work: Path, root: Path = ROOT) -> Path:
    """Copy profiler-kit's sources once, so edits made during the run change nothing.

    The servers import the copy (first on PYTHONPATH, ahead of the editable
    install): every variant and repetition measures the same code.
    """
    src = work / "src"
    for source, target in PACKAGE_DIRS.items():
        shutil.copytree(
            root / source,
            src / target,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )
    return src


class Server:
    """One server process for one (framework, variant), started and stopped here."""

    def __init__(
        self, framework: str, variant: Variant, work: Path, tag: str, cpu_rounds: int, core: str
    ) -> None:
        self.framework = framework
        self.variant = variant
        self.dir = work / tag
        self.dir.mkdir(parents=True)
        self.store = self.dir / "captures.sqlite3"
        self.port = free_port()
        env = clean_environ()
        env.update(variant.env)
        env["PROFILER_KIT_STORE"] = str(self.store)
        env["BENCH_VARIANT"] = variant.app_variant
        env["BENCH_CPU_ROUNDS"] = str(cpu_rounds)
        env["BENCH_PYINSTRUMENT_DIR"] = str(self.dir / "pyinstrument")
        env["TMPDIR"] = str(self.dir)  # memray's per-request files land here too
        self.log_path = self.dir / "server.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            server_command(framework, self.port, core),
            cwd=self.dir,  # no pyproject.toml above a temp dir; no source tree on sys.path
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def url(self, endpoint: str) -> str:
        return f"http://127.0.0.1:{self.port}/{endpoint}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.framework} server exited early:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/hello")
                response = conn.getresponse()
                body = response.read()
                conn.close()
                if response.status == 200 and body:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.framework} server not ready in {timeout}s:\n{self.log_tail()}")

    def worker_pid(self) -> int:
        """The process serving requests (gunicorn's worker, or uvicorn itself)."""
        if self.framework == "fastapi":
            return self.proc.pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            except OSError:
                children = ""
            if children.split():
                return int(children.split()[0])
            time.sleep(0.1)
        raise RuntimeError("no gunicorn worker found")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"  ! {self.framework} server ignored SIGTERM for {timeout}s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def captures(self) -> dict[str, tuple[int, int]]:
        """Per path: (captures, captures with a memory profile) in the store so far."""
        if not self.store.exists():
            return {}
        try:
            conn = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True, timeout=30)
            try:
                rows = conn.execute(
                    "SELECT path, count(*), sum(memory_profile IS NOT NULL) "
                    "FROM captures GROUP BY path"
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as error:
            log(f"  ! cannot read {self.store}: {error}")
            return {}
        return {str(path): (int(n), int(mem or 0)) for path, n, mem in rows}


# -- CPU accounting: how much of the server's core went elsewhere ---------------

TICK = os.sysconf("SC_CLK_TCK")


def core_jiffies(core: str) -> tuple[int, int]:
    """(busy, total) clock ticks of one core since boot, from /proc/stat."""
    for row in Path("/proc/stat").read_text().splitlines():
        if row.startswith(f"cpu{core} "):
            ticks = [int(v) for v in row.split()[1:9]]
            return sum(ticks) - ticks[3] - ticks[4], sum(ticks)
    return 0, 0


def process_jiffies(pid: int) -> int:
    """User + system clock ticks of a process, all its threads (ended ones too)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


class CoreMeter:
    """The server's core during one timed run: who used it, and how much."""

    def __init__(self, core: str, pid: int) -> None:
        self.core, self.pid = core, pid
        self.start = (*core_jiffies(core), process_jiffies(pid))

    def read(self) -> tuple[float, float, float]:
        """(busy share of the core, server's share, server CPU seconds)."""
        busy, total, proc = (*core_jiffies(self.core), process_jiffies(self.pid))
        span = max(1, total - self.start[1])
        used = proc - self.start[2]
        return (busy - self.start[0]) / span, used / span, used / TICK


# -- load ---------------------------------------------------------------------


@dataclass
class WrkResult:
    rps: float
    requests: int
    errors: str
    non_2xx: int


def run_wrk(url: str, seconds: int, connections: int, core: str) -> WrkResult:
    command = [
        "taskset", "-c", core, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
        "--timeout", "10s", url,
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    out = done.stdout
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if done.returncode != 0 or rps is None or total is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{out}\n{done.stderr}")
    errors = re.search(r"Socket errors: (.*)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(
        float(rps.group(1)),
        int(total.group(1)),
        errors.group(1) if errors else "",
        int(non_2xx.group(1)) if non_2xx else 0,
    )


@dataclass
class Measurement:
    """One timed wrk run against one server."""

    rps: float
    requests: int
    server_cpu_s: float  # CPU time of the server process (all threads) during the run
    core_busy: float  # share of the server's core busy during the run
    server_share: float  # share of the server's core used by the server

    @property
    def others(self) -> float:
        """Share of the server's core taken by other processes (machine noise)."""
        return max(0.0, self.core_busy - self.server_share)

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else float("nan")


# -- calibration --------------------------------------------------------------


def calibrate(target_ms: float, core: str) -> tuple[int, float]:
    """Rounds of bench_common.burn taking ``target_ms`` on the server's core."""
    code = (
        "import statistics, sys, time\n"
        f"sys.path.insert(0, {str(APPS)!r})\n"
        "from bench_common import burn\n"
        "burn(2000)\n"
        "def ms(n):\n"
        "    times = []\n"
        "    for _ in range(25):\n"
        "        t = time.perf_counter(); burn(n); times.append(time.perf_counter() - t)\n"
        "    return min(times) * 1000\n"  # the least disturbed run: other load only adds
        "n = 2000\n"
        f"for _ in range(4):\n    n = max(100, round(n * {target_ms} / ms(n)))\n"
        "print(n, ms(n))\n"
    )
    done = subprocess.run(
        ["taskset", "-c", core, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=clean_environ(),
        timeout=120,
    )
    rounds, ms = done.stdout.split()
    return int(rounds), float(ms)


# -- the run ------------------------------------------------------------------


@dataclass
class Options:
    frameworks: list[str]
    variants: list[str]
    endpoints: list[str]
    reps: int
    duration: int
    warmup: int
    connections: int
    server_core: str
    load_core: str
    noise_limit: float  # retry a timed run when others took more of the core than this
    retries: int


Key = tuple[str, str, str]  # framework, endpoint, variant letter


@dataclass
class Results:
    runs: dict[Key, list[Measurement]] = field(default_factory=lambda: defaultdict(list))
    captures: dict[Key, list[str]] = field(default_factory=lambda: defaultdict(list))
    retried: int = 0
    noisy_kept: int = 0


def timed_run(opts: Options, server: Server, endpoint: str, pid: int) -> tuple[Measurement, int]:
    """One timed wrk run, repeated (at most ``retries`` times) while the core is shared.

    Returns the least disturbed attempt and the requests of all attempts.
    """
    best: Measurement | None = None
    requests = 0
    for attempt in range(opts.retries + 1):
        if attempt:
            time.sleep(2)
        meter = CoreMeter(opts.server_core, pid)
        result = run_wrk(server.url(endpoint), opts.duration, opts.connections, opts.load_core)
        busy, share, cpu_s = meter.read()
        if result.non_2xx:
            raise RuntimeError(
                f"{result.non_2xx} failed responses from /{endpoint}:\n{server.log_tail()}"
            )
        if result.errors:
            log(f"    socket errors on /{endpoint}: {result.errors}")
        run = Measurement(result.rps, result.requests, cpu_s, busy, share)
        requests += result.requests
        if best is None or run.others < best.others:
            best = run
        if run.others * 100 <= opts.noise_limit:
            break
        if attempt < opts.retries:
            log(
                f"    /{endpoint}: other processes took {run.others * 100:.0f}% of core "
                f"{opts.server_core}; measuring again"
            )
    assert best is not None
    return best, requests


def measure_one(
    opts: Options,
    framework: str,
    letter: str,
    rep: int,
    work: Path,
    cpu_rounds: int,
    results: Results,
) -> None:
    variant = VARIANTS[letter]
    server = Server(
        framework, variant, work, f"{framework}-{letter}-{rep}", cpu_rounds, opts.server_core
    )
    served: Counter[str] = Counter()
    at_end_of_run: dict[str, int] = {}
    line = [f"  {framework:8} {letter}"]
    try:
        server.wait_ready()
        served["/hello"] += 1
        pid = server.worker_pid()
        endpoints = opts.endpoints if rep % 2 == 0 else list(reversed(opts.endpoints))
        for endpoint in endpoints:
            path = "/" + endpoint
            warmup = max(opts.warmup, BUDGET_DRAIN_S) if letter == "d" else opts.warmup
            if warmup > 0:
                served[path] += run_wrk(
                    server.url(endpoint), warmup, opts.connections, opts.load_core
                ).requests
            run, requests = timed_run(opts, server, endpoint, pid)
            served[path] += requests
            results.runs[(framework, endpoint, letter)].append(run)
            if variant.uses_store:
                at_end_of_run[path] = server.captures().get(path, (0, 0))[0]
            line.append(
                f"{endpoint} {run.rps:8.1f} req/s {run.cpu_us_per_request:7.0f} us CPU/req "
                f"(others {run.others * 100:2.0f}%)"
            )
    finally:
        server.stop()
    if variant.uses_store:
        final = server.captures()
        for endpoint in opts.endpoints:
            path = "/" + endpoint
            kept, with_memory = final.get(path, (0, 0))
            note = (
                f"{kept} captures for ~{served[path]} requests "
                f"({at_end_of_run.get(path, 0)} in the store when the timed run ended)"
            )
            if letter == "f":
                note += f", {with_memory} with a memory profile"
            results.captures[(framework, endpoint, letter)].append(note)
            line.append(f"{endpoint}: {kept} captured")
            if letter in ("e", "f") and kept == 0:
                log(f"  ! {framework} {letter} {path}: the store received NO captures")
    log("  ".join(line))


def order_for(letters: list[str], rep: int) -> list[str]:
    shift = rep % len(letters)
    order = letters[shift:] + letters[:shift]
    return order if rep % 2 == 0 else list(reversed(order))


def spread(values: list[float]) -> float:
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle * 100 if middle else 0.0


TARGETS = {"c": 0.99, "d": 0.97}


def _fmt(value: float | None, spec: str) -> str:
    return format(value, spec) if value is not None else format(float("nan"), spec)


def report(opts: Options, results: Results) -> list[str]:
    verdicts: list[str] = []
    for framework in opts.frameworks:
        for endpoint in opts.endpoints:
            rows = {
                letter: results.runs[(framework, endpoint, letter)]
                for letter in opts.variants
                if results.runs.get((framework, endpoint, letter))
            }
            if not rows:
                continue
            print(
                f"\n{framework} /{endpoint}: req/s, median of {len(next(iter(rows.values())))} "
                f"reps (wrk -t1 -c{opts.connections} -d{opts.duration}s); server CPU per request"
            )
            print(
                f"  {'variant':38} {'median':>8} {'min':>8} {'max':>8} {'spread':>7}"
                f" {'vs a':>6} {'paired':>6} {'+us/req':>8} {'CPU us':>7} {'vs a':>6}  target"
            )
            bare = rows.get("a")
            bare_rps = statistics.median(r.rps for r in bare) if bare else None
            bare_cpu = statistics.median(r.cpu_us_per_request for r in bare) if bare else None
            for letter, runs in rows.items():
                rps = [r.rps for r in runs]
                median = statistics.median(rps)
                cpu = statistics.median(r.cpu_us_per_request for r in runs)
                ratio = paired = extra_us = cpu_ratio = None
                if bare and bare_rps and median > 0:
                    ratio = median / bare_rps
                    paired = statistics.median(
                        r.rps / b.rps for r, b in zip(runs, bare, strict=False)
                    )
                    extra_us = (1 / median - 1 / bare_rps) * 1e6
                if bare_cpu:
                    cpu_ratio = bare_cpu / cpu  # as a throughput ratio: < 1 is costlier
                target = ""
                if letter in TARGETS and ratio is not None:
                    ok = ratio >= TARGETS[letter]
                    target = f">= {TARGETS[letter]:.2f} {'met' if ok else 'MISSED'}"
                    verdicts.append(
                        f"{framework} /{endpoint} {letter} ({VARIANTS[letter].title}): "
                        f"{ratio:.3f} of bare req/s (paired {paired:.3f}; "
                        f"by CPU/request {_fmt(cpu_ratio, '.3f')}), "
                        f"target >= {TARGETS[letter]:.2f}: {'met' if ok else 'MISSED'}"
                    )
                print(
                    f"  {letter} {VARIANTS[letter].title:36} {median:8.1f} {min(rps):8.1f}"
                    f" {max(rps):8.1f} {spread(rps):6.1f}% {_fmt(ratio, '6.3f')}"
                    f" {_fmt(paired, '6.3f')} {_fmt(extra_us, '8.1f')} {cpu:7.0f}"
                    f" {_fmt(cpu_ratio, '6.3f')}  {target}"
                )
            for baseline, what in (("h", "recipe as documented"), ("g", "recipe, discarded")):
                if "e" not in rows or baseline not in rows:
                    continue
                e_rps = statistics.median(r.rps for r in rows["e"])
                b_rps = statistics.median(r.rps for r in rows[baseline])
                ratio_rps = e_rps / b_rps if b_rps else float("nan")
                e_cpu = statistics.median(r.cpu_us_per_request for r in rows["e"])
                b_cpu = statistics.median(r.cpu_us_per_request for r in rows[baseline])
                # The issue's yardstick is the documented recipe (h); g is shown too.
                target = "target >= 1.00: " + ("met" if ratio_rps >= 1.0 else "MISSED")
                if baseline == "g":
                    target = "for information"
                print(
                    f"  e/{baseline} = {ratio_rps:.3f} by req/s, {b_cpu / e_cpu:.3f} by "
                    f"CPU/request (pyinstrument {what}; {target})"
                )
                verdicts.append(
                    f"{framework} /{endpoint} e/{baseline} (sample_rate=1 vs pyinstrument "
                    f"{what}): {ratio_rps:.3f} by req/s ({b_cpu / e_cpu:.3f} by CPU/request), "
                    f"{target}"
                )
            others = [r.others * 100 for runs in rows.values() for r in runs]
            print(
                f"  noise: other processes took {statistics.median(others):.1f}% (median), "
                f"{max(others):.1f}% (max) of core {opts.server_core} during these timed runs"
            )
            for letter in rows:
                for rep, note in enumerate(results.captures.get((framework, endpoint, letter), [])):
                    print(f"  store {letter} rep {rep + 1}: {note}")
    return verdicts


# -- profiling a variant with py-spy (outside the timed runs) -------------------


def profile_variant(
    spec: str, opts: Options, work: Path, cpu_rounds: int, seconds: int, top: int, gil: bool
) -> None:
    try:
        framework, letter, endpoint = spec.split(":")
        variant = VARIANTS[letter]
        if framework not in FRAMEWORKS or endpoint not in ENDPOINTS:
            raise ValueError
    except (ValueError, KeyError):
        raise SystemExit(  # noqa: B904 - a usage error, the cause is the spec itself
            f"--profile wants FRAMEWORK:VARIANT:ENDPOINT, e.g. flask:d:hello, not {spec!r}"
        )
    if shutil.which("py-spy") is None:
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    server = Server(
        framework,
        variant,
        work,
        f"profile-{framework}-{letter}-{endpoint}",
        cpu_rounds,
        opts.server_core,
    )
    out = work / f"profile-{framework}-{letter}-{endpoint}.txt"
    try:
        server.wait_ready()
        run_wrk(server.url(endpoint), max(opts.warmup, 1), opts.connections, opts.load_core)
        load = subprocess.Popen(
            [
                "taskset", "-c", opts.load_core, "wrk", "-t1", f"-c{opts.connections}",
                f"-d{seconds + 3}s", "--timeout", "10s", server.url(endpoint),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        time.sleep(1)
        spy = subprocess.run(
            [
                "taskset", "-c", opts.load_core, "py-spy", "record", "--nonblocking",
                "--threads", "--rate", "500", "--duration", str(seconds), "--format", "raw",
                "--output", str(out), "--pid", str(server.worker_pid()),
                *(["--gil"] if gil else []),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )  # fmt: skip
        load_out, _ = load.communicate(timeout=seconds + 60)
    finally:
        server.stop()
    rps = re.search(r"Requests/sec:\s*([\d.]+)", load_out)
    print(
        f"\n== py-spy profile of {framework} {letter} ({variant.title}) /{endpoint}, "
        f"{seconds}s under load ({rps.group(1) if rps else '?'} req/s while sampled) =="
    )
    if spy.returncode != 0 or not out.exists():
        print(f"py-spy failed ({spy.returncode}): {spy.stdout}\n{spy.stderr}")
        return
    print(
        "samples: only a thread holding the GIL (py-spy --gil), so the percentages share out "
        "the Python work of the server's core"
        if gil
        else "samples: every thread py-spy judges active (running or in a non-idle system call)"
    )
    summarise_profile(out.read_text(), top)


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def summarise_profile(raw: str, top: int) -> None:
    """Inclusive and self samples per function from py-spy's collapsed stacks."""
    per_thread: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    own_lines: Counter[str] = Counter()
    total = 0
    for row in raw.splitlines():
        stack, _, count_text = row.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        per_thread[frames[0]] += count
        names = []
        line = ""
        for frame in frames[1:]:
            match = _FRAME.match(frame)
            if match:
                file = match["file"]
                repo = f"{ROOT}/"
                file = file[len(repo) :] if file.startswith(repo) else short_file(file)
                names.append(f"{match['func']} ({file})")
                line = f"{match['func']} ({file}:{match['line'] or '?'})"
            else:
                names.append(frame)
                line = frame
        for name in set(names):
            inclusive[name] += count
        if names:
            own[names[-1]] += count
            own_lines[line] += count
    if not total:
        print("no samples")
        return
    print(f"{total} samples at 500 Hz")
    for thread, count in per_thread.most_common():
        print(f"  {count / total * 100:5.1f}%  {thread}")
    print(f"top {top} functions by inclusive samples:")
    for name, count in inclusive.most_common(top):
        print(f"  {count / total * 100:5.1f}%  {name}")
    print(f"top {top} functions by self samples:")
    for name, count in own.most_common(top):
        print(f"  {count / total * 100:5.1f}%  {name}")
    print(f"top {top} lines by self samples:")
    for name, count in own_lines.most_common(top):
        print(f"  {count / total * 100:5.1f}%  {name}")
    ours = [
        (name, count)
        for name, count in inclusive.items()
        if "profiler_kit" in name or "pyinstrument" in name or "memray" in name
    ]
    if ours:
        print("profiler frames (inclusive), largest first:")
        for name, count in sorted(ours, key=lambda item: -item[1])[:top]:
            print(f"  {count / total * 100:5.1f}%  {name}")


# -- main -----------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--duration", type=int, default=5, help="timed wrk seconds (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up wrk seconds (default 1)")
    parser.add_argument("--connections", type=int, default=8, help="wrk -c (default 8)")
    parser.add_argument("--cpu-ms", type=float, default=5.0, help="CPU endpoint work (default 5)")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--variants", default="".join(VARIANTS), help="letters (default abcdefgh)")
    parser.add_argument("--endpoints", default=",".join(ENDPOINTS))
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--load-core", default="1")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 rep of 1 s")
    parser.add_argument(
        "--noise-limit",
        type=float,
        default=10.0,
        help="measure a run again when other processes took more than this %% of the "
        "server's core (default 10)",
    )
    parser.add_argument(
        "--retries", type=int, default=1, help="at most this many re-measurements (default 1)"
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="FW:VARIANT:ENDPOINT",
        help="after the timed runs, sample this server under load with py-spy (repeatable)",
    )
    parser.add_argument("--profile-seconds", type=int, default=8)
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument(
        "--profile-all-threads",
        action="store_true",
        help="sample every active thread (py-spy's default) instead of the GIL holder only",
    )
    parser.add_argument("--only-profile", action="store_true", help="skip the timed runs")
    parser.add_argument(
        "--no-snapshot",
        action="store_true",
        help="serve the live (editable) source tree instead of a copy taken at the start",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=ROOT,
        help="serve a copy of this tree (laid out like the repository: profiler_kit/ and "
        "plugins/), e.g. to profile exactly the code an earlier run measured",
    )
    args = parser.parse_args()
    if args.quick:
        args.reps, args.duration, args.warmup = 1, 1, 1
    return args


def main() -> None:
    args = parse_args()
    opts = Options(
        frameworks=[f for f in args.frameworks.split(",") if f],
        variants=[v for v in args.variants if v in VARIANTS],
        endpoints=[e for e in args.endpoints.split(",") if e],
        reps=max(1, min(args.reps, 50)),
        duration=max(1, min(args.duration, 120)),
        warmup=max(0, min(args.warmup, 30)),
        connections=max(1, args.connections),
        server_core=args.server_core,
        load_core=args.load_core,
        noise_limit=args.noise_limit,
        retries=max(0, min(args.retries, 5)),
    )
    for name in opts.frameworks:
        if name not in FRAMEWORKS:
            raise SystemExit(f"unknown framework {name!r}")
    for name in opts.endpoints:
        if name not in ENDPOINTS:
            raise SystemExit(f"unknown endpoint {name!r}")
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing (apt-get install -y {tool})")
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="pk-web-bench-"))
    global _SNAPSHOT
    try:
        fingerprint, newest = source_fingerprint(args.source)
        if not args.no_snapshot:
            _SNAPSHOT = snapshot_sources(work, args.source)
        where = subprocess.run(
            [sys.executable, "-c", "import profiler_kit.plugins, profiler_kit; "
             "print(profiler_kit.__file__)"],
            capture_output=True, text=True, check=True, env=clean_environ(), cwd=work,
        ).stdout.strip()  # fmt: skip
        print(
            f"profiler-kit sources {fingerprint} (newest file {newest}), "
            f"served from {'a copy taken now' if _SNAPSHOT else 'the live tree'}: {where}"
        )
        cpu_rounds, cpu_ms = calibrate(args.cpu_ms, opts.server_core)
        versions = subprocess.run(
            [
                sys.executable, "-c",
                "import importlib.metadata as m, importlib.util as u\n"
                "names = ['flask', 'fastapi', 'starlette', 'django', 'gunicorn', 'uvicorn',"
                " 'pyinstrument', 'memray']\n"
                "print(', '.join(f'{n} {m.version(n)}' for n in names))\n"
                "print('uvicorn extras: uvloop', bool(u.find_spec('uvloop')),"
                " 'httptools', bool(u.find_spec('httptools')))",
            ],
            capture_output=True, text=True, check=False, env=clean_environ(), cwd=work,
        ).stdout.strip()  # fmt: skip
        print(f"python {sys.version.split()[0]}; {versions}")
        print(
            f"server on core {opts.server_core}, wrk on core {opts.load_core}; "
            f"{opts.reps} reps x {len(opts.frameworks)} frameworks x "
            f"{len(opts.variants)} variants, "
            f"warm-up {opts.warmup}s + timed {opts.duration}s per endpoint; "
            f"/cpu = {cpu_rounds} rounds = {cpu_ms:.2f} ms of work; temp dir {work}"
        )
        results = Results()
        if not args.only_profile:
            for rep in range(opts.reps):
                log(f"rep {rep + 1}/{opts.reps} ({time.monotonic() - started:.0f}s elapsed)")
                for framework in opts.frameworks:
                    for letter in order_for(opts.variants, rep):
                        measure_one(opts, framework, letter, rep, work, cpu_rounds, results)
            verdicts = report(opts, results)
            print("\ntargets (d within 3% of bare, c within 1%, e no slower than h):")
            for verdict in verdicts:
                print(f"  {verdict}")
            now_fingerprint, now_newest = source_fingerprint(args.source)
            if now_fingerprint != fingerprint:
                print(
                    f"\nnote: the source tree changed during the run ({fingerprint} -> "
                    f"{now_fingerprint}, newest file {now_newest}); "
                    + (
                        "the servers ran the copy taken at the start."
                        if _SNAPSHOT
                        else "the servers may have run different code!"
                    )
                )
        for spec in args.profile:
            profile_variant(
                spec, opts, work, cpu_rounds, args.profile_seconds, args.profile_top,
                not args.profile_all_threads,
            )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
        print(f"\ntotal time {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
