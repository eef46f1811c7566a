"""Instructions per request of Flask, FastAPI and Django servers with and without profiler-kit.

``web_overhead.py`` measures requests/s under ``wrk``, which on a shared
2-vCPU machine moves by 15-50 % between repetitions of the same server: a
3 % overhead target cannot be shown that way. This benchmark counts the CPU
instructions the server process executes per request instead, under
valgrind's callgrind, which machine noise cannot move:

1. the server (the same apps and commands as web_overhead.py: uvicorn, or
   gunicorn with one sync worker) starts under callgrind with
   instrumentation off, so start-up runs at valgrind's uninstrumented speed;
2. the serving process is asked (``/_callgrind/start``, a switch outside
   every middleware, apps/callgrind_wrap.py, that makes valgrind client
   requests: vgdb cannot reach a forked gunicorn worker) to turn
   instrumentation on; ``--warmup`` requests warm caches and the capture
   budget; ``/_callgrind/zero`` resets the counters;
3. ``--requests`` GET requests are sent one after another on one keep-alive
   connection (bounded: a fixed count, each with a timeout); then the
   background writer gets ``--settle`` seconds to store what was captured,
   and ``/_callgrind/dump`` writes the counters out.

Instructions per request = the dump's total / requests. The dump a client
request asks for holds the thread that made the request (the one serving
HTTP); profiler-kit's sampler hub and background writer are not in it. Their
work is paid per second or per capture, not per unsampled request, and under
valgrind it is dilated like every clock (below): judge it by the req/s and
CPU/request figures of web_overhead.py.
Ratios are against the bare app of the same framework. Variant letters are
those of web_overhead.py (a bare, b do-nothing middleware, c disabled,
d defaults, e sample_rate=1, g pyinstrument's recipe, ...).

What the count does not show: time spent waiting (none here: every endpoint
is CPU-bound), cache misses, and kernel work (syscalls count as one
instruction each), which a requests/s measurement would include. And what
runs on a clock is inflated: under valgrind a request takes ~80 times as
long, so a sampling profiler takes ~80 times as many samples per request and
a polling thread wakes ~80 times as often per request. Variants that profile
(d's sampled 1 %, e, g) are therefore overstated here; ``w`` (every request
watched, none profiled) is the per-request cost that default settings add to
the 99 % of requests that are not sampled.

    python benchmarks/web_instructions.py                  # a b c d e g, hello, ~8 min
    python benchmarks/web_instructions.py --frameworks flask --variants acd
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import web_overhead as wo

# The per-request path of default settings without the sampled 1 %: every
# request is watched for slowness, none is profiled.
wo.VARIANTS["w"] = wo.Variant(
    "w", "pk", "profiler-kit watch path only (sample_rate=0)", {"PROFILER_KIT_SAMPLE_RATE": "0"}
)

REQUEST_TIMEOUT_S = 60.0
START_TIMEOUT_S = 300.0


WRAPPED = {"fastapi": "fastapi_app", "flask": "flask_app", "django": "django_app"}


def control(port: int, action: str) -> None:
    """Ask the serving process to start instrumenting, zero or dump (apps/callgrind_wrap.py)."""
    send(port, f"/_callgrind/{action}", 1)


def wait_until_serving(port: int, path: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            send(port, path, 1)
            return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"the server did not answer within {START_TIMEOUT_S:.0f} s")


def send(port: int, path: str, count: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    try:
        for _ in range(count):
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} answered {response.status}")
    finally:
        connection.close()


def measure(
    framework: str, variant: wo.Variant, endpoint: str, opts: argparse.Namespace, work: Path
) -> float:
    tag = f"{framework}-{variant.letter}-{endpoint}-{time.monotonic_ns()}"
    directory = work / tag
    directory.mkdir(parents=True)
    port = wo.free_port()
    env = wo.clean_environ()
    env.update(variant.env)
    env["PROFILER_KIT_STORE"] = str(directory / "captures.sqlite3")
    env["BENCH_VARIANT"] = variant.app_variant
    env["BENCH_CPU_ROUNDS"] = str(opts.cpu_rounds)
    env["BENCH_PYINSTRUMENT_DIR"] = str(directory / "pyinstrument")
    env["TMPDIR"] = str(directory)
    env["PYTHONHASHSEED"] = "0"
    command = wo.server_command(framework, port, opts.server_core)
    # after "taskset -c CORE"; the app behind the switch of apps/callgrind_wrap.py
    serve = [*command[3:-1], f"callgrind_wrap:{WRAPPED[framework]}"]
    if framework != "fastapi":
        serve += ["--timeout", "600"]  # a worker under valgrind answers its arbiter slowly
    valgrind = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--separate-threads=yes",
        f"--callgrind-out-file={directory}/callgrind.%p.out",
        "--vgdb=no",
        "--quiet",
    ]
    log = (directory / "server.log").open("wb")
    proc = subprocess.Popen(
        [*command[:3], *valgrind, *serve],
        cwd=directory,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    path = f"/{endpoint}"
    try:
        wait_until_serving(port, path, proc)
        control(port, "start")
        send(port, path, opts.warmup)
        samples = variant.env.get("PROFILER_KIT_SAMPLE_RATE") != "0"
        if variant.uses_store and samples and variant.env.get("PROFILER_KIT_ENABLED") != "false":
            # The first capture starts the writer thread, opens the store and
            # imports what encoding needs: once per process, not per request.
            warm_until_captured(port, path, directory / "captures.sqlite3")
        control(port, "zero")
        send(port, path, opts.requests)
        time.sleep(opts.settle)
        control(port, "dump")
        totals = dumped_totals(directory)
        if opts.threads:
            print(f"    per thread: {', '.join(f'{t}: {n:,}' for t, n in sorted(totals.items()))}")
        return sum(totals.values()) / opts.requests
    finally:
        with_timeout_kill(proc)
        log.close()
        if not opts.keep:
            shutil.rmtree(directory, ignore_errors=True)


def warm_until_captured(port: int, path: str, store: Path, limit: int = 3000) -> None:
    for _ in range(0, limit, 50):
        if stored_captures(store) > 0:
            return
        send(port, path, 50)
    raise RuntimeError(f"no capture stored after {limit} warm-up requests")


def stored_captures(store: Path) -> int:
    import sqlite3

    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM captures").fetchone()[0])
    except sqlite3.Error:
        return 0


def dumped_totals(directory: Path) -> dict[int, int]:
    """Thread number -> the total of the dump the serving process wrote on request.

    Callgrind numbers threads in their order of creation (1 is the main
    thread) and writes one file per thread (``--separate-threads=yes``).
    """
    totals: dict[int, int] = {}
    for path in sorted(directory.glob("callgrind.*.out.*")):
        text = path.read_text(errors="replace")
        match = re.search(r"^totals: (\d+)", text, re.M)
        thread = re.search(r"^thread: (\d+)", text, re.M)
        if "Client Request: pid-" in text and match:
            totals[int(thread.group(1)) if thread else 1] = int(match.group(1))
    if not totals:
        found = ", ".join(p.name for p in directory.iterdir())
        raise RuntimeError(f"callgrind wrote no dump (found: {found})")
    return totals


def with_timeout_kill(proc: subprocess.Popen[bytes]) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default=",".join(wo.FRAMEWORKS))
    parser.add_argument(
        "--variants", default="abcwd", help="letters of web_overhead.py, and w [abcwd]"
    )
    parser.add_argument("--endpoints", default="hello", help="hello and/or cpu")
    parser.add_argument("--requests", type=int, default=600, help="counted requests [600]")
    parser.add_argument("--warmup", type=int, default=100, help="requests before [100]")
    parser.add_argument("--reps", type=int, default=1, help="servers per variant [1]")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds for the writer [2]")
    parser.add_argument("--cpu-rounds", type=int, default=400, help="burn() rounds of /cpu")
    parser.add_argument("--server-core", default="0")
    parser.add_argument("--keep", action="store_true", help="keep the servers' directories")
    parser.add_argument("--threads", action="store_true", help="print each thread's count")
    opts = parser.parse_args()
    for tool in ("valgrind", "taskset"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed (apt-get install valgrind util-linux)")
    frameworks = [f for f in opts.frameworks.split(",") if f]
    letters = list(opts.variants)
    endpoints = [e for e in opts.endpoints.split(",") if e]
    work = Path(tempfile.mkdtemp(prefix="web-instructions-"))
    wo._SNAPSHOT = wo.snapshot_sources(work)  # every server imports the same copy
    results: dict[tuple[str, str, str], list[float]] = {}
    started = time.monotonic()
    if opts.keep:
        print(f"work directory: {work}")
    try:
        for rep in range(opts.reps):
            for framework in frameworks:
                for endpoint in endpoints:
                    for letter in letters:
                        variant = wo.VARIANTS[letter]
                        per_request = measure(framework, variant, endpoint, opts, work)
                        results.setdefault((framework, endpoint, letter), []).append(per_request)
                        print(
                            f"rep {rep + 1} {framework:8} /{endpoint:5} {letter} "
                            f"{variant.title:38} {per_request:12,.0f} instructions/request",
                            flush=True,
                        )
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"{'framework':9} {'endpoint':8} {'variant':42} {'instr/request':>14} {'vs a':>7}")
    for framework in frameworks:
        for endpoint in endpoints:
            bare = results.get((framework, endpoint, "a"))
            for letter in letters:
                values = results[(framework, endpoint, letter)]
                value = statistics.median(values)
                ratio = f"{value / statistics.median(bare):7.3f}" if bare else "      -"
                spread = (
                    f"  (reps {min(values):,.0f}..{max(values):,.0f})" if len(values) > 1 else ""
                )
                title = f"{letter} {wo.VARIANTS[letter].title}"
                print(f"{framework:9} /{endpoint:7} {title:42} {value:14,.0f} {ratio}{spread}")
            if "e" in letters and "g" in letters:
                e = statistics.median(results[(framework, endpoint, "e")])
                g = statistics.median(results[(framework, endpoint, "g")])
                print(f"{'':9} {'':8} {'e / g (sample_rate=1 vs recipe)':42} {e / g:14.3f}")
    print(f"\n{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
