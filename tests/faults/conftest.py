"""Fixtures for fault injection against real servers on loopback.

The apps under test are ``faults_flask_app.py`` (under gunicorn, sync worker)
and ``faults_fastapi_app.py`` (under uvicorn) beside this file. Both answer
``/_pk/state``: the serving process's profiler-kit counters, its writer's
queue depth and how many requests it served, so a test can account for every
capture while the server runs, without waiting for it to exit.

Every ``PROFILER_KIT_*`` variable is passed explicitly (those a test does not
set are passed empty, which profiler-kit reads as "not given"). The defaults
here capture every request (``sample_rate=1``, ``slow_ms=0``, no per-minute
budget) and leave ``/_pk/*`` unprofiled, so requests sent == captures expected.

With ``--import-mode=importlib`` test modules cannot import this file: the
helpers are reached through the ``fault_servers`` and ``load`` fixtures.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from server_env import gunicorn_isolation_args, profiler_kit_env

from profiler_kit.config import ENV_PREFIX
from profiler_kit.store import CaptureSummary
from profiler_kit.testing import read_captures

HERE = Path(__file__).resolve().parent
APPS = {"flask": "faults_flask_app:app", "fastapi": "faults_fastapi_app:app"}
CAPTURE_EVERYTHING = {
    "sample_rate": 1,
    "slow_ms": 0,
    "max_captures_per_minute": 1_000_000,
    "exclude_paths": "/_pk/*",
}
# Counters that account for a capture handed to the writer, other than being written.
DROP_COUNTERS = ("dropped.queue_full", "dropped.store_error", "error.building a capture")


@dataclass
class Reply:
    status: int  # -1: no HTTP answer (socket error, timeout)
    body: bytes
    headers: dict[str, str]
    seconds: float
    error: str = ""

    @property
    def key(self) -> tuple[int, bytes, str | None]:
        """What "identical response" compares: status, body, content type."""
        return (self.status, self.body, self.headers.get("content-type"))

    @property
    def worker_pid(self) -> int | None:
        pid = self.headers.get("x-worker-pid")
        return int(pid) if pid else None

    @property
    def state(self) -> dict[str, Any] | None:
        """The worker's counters just before this request's capture was submitted."""
        raw = self.headers.get("x-pk-state")
        return json.loads(raw) if raw else None


def fetch(url: str, path: str, timeout: float = 10.0) -> Reply:
    """One GET on a fresh connection; socket errors come back as status -1."""
    parts = urlsplit(url)
    started = time.monotonic()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Reply(response.status, body, headers, time.monotonic() - started)
    except (OSError, http.client.HTTPException) as error:
        return Reply(-1, b"", {}, time.monotonic() - started, repr(error))
    finally:
        conn.close()


@dataclass
class Running:
    """One running server with the fault app, its store and its log."""

    framework: str
    url: str
    store: Path
    process: subprocess.Popen[bytes]
    log: Path
    cwd: Path

    def get(self, path: str, timeout: float = 10.0) -> Reply:
        return fetch(self.url, path, timeout)

    def state(self) -> dict[str, Any]:
        """``/_pk/state`` of whichever process answers (one worker: the worker)."""
        reply = self.get("/_pk/state")
        assert reply.status == 200, (reply, self.output())
        return dict(json.loads(reply.body))

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def captures(self, **kwargs: Any) -> list[CaptureSummary]:
        return read_captures(self.store, **kwargs)

    def wait_idle(self, timeout: float = 20.0) -> dict[str, Any]:
        """Poll ``/_pk/state`` until every request served is written or counted as dropped."""
        deadline = time.monotonic() + timeout
        state = self.state()
        while time.monotonic() < deadline:
            if accounted(state) >= state["served"] and state["depth"] == 0:
                return state
            time.sleep(0.1)
            state = self.state()
        return state


def accounted(state: Mapping[str, Any]) -> int:
    """Captures a process's writer has finished with: written or counted as dropped."""
    counters = state["counters"]
    return int(counters.get("captures.written", 0)) + sum(
        int(counters.get(name, 0)) for name in DROP_COUNTERS
    )


def dropped(state: Mapping[str, Any]) -> int:
    return sum(int(state["counters"].get(name, 0)) for name in DROP_COUNTERS)


class FaultServers:
    """Starts the fault apps with chosen settings; what the ``fault_servers`` fixture gives."""

    def __init__(self, servers: Any, tmp_path: Path) -> None:
        self.servers = servers
        self.tmp_path = tmp_path
        self._runs = 0

    def env(self, settings: Mapping[str, Any], store: Path) -> dict[str, str]:
        env = profiler_kit_env(settings, store, defaults=CAPTURE_EVERYTHING)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    @contextlib.contextmanager
    def serve(
        self,
        framework: str,
        *,
        store: Path | None = None,
        workers: int = 1,
        extra_env: Mapping[str, str] | None = None,
        server_args: Sequence[str] = (),
        **settings: Any,
    ) -> Iterator[Running]:
        """Run the framework's fault app until the block ends (then SIGTERM, as in production)."""
        self._runs += 1
        cwd = self.tmp_path / f"{framework}-server{self._runs}"
        cwd.mkdir(parents=True)
        store = store if store is not None else cwd / "captures.sqlite3"
        env = {**self.env(settings, store), **(extra_env or {})}
        port = self.servers.free_port()
        if framework == "flask":
            argv = self.servers.gunicorn_argv(
                APPS["flask"], port, "--pythonpath", str(HERE), "--workers", str(workers),
                "--worker-class", "sync", *gunicorn_isolation_args(), *server_args,
            )  # fmt: skip
        elif framework == "fastapi":
            assert workers == 1, "uvicorn runs one process here"
            argv = self.servers.uvicorn_argv(
                APPS["fastapi"], port, "--app-dir", str(HERE), "--no-access-log", *server_args
            )
        else:
            raise ValueError(framework)
        with self.servers.run(argv, port=port, cwd=cwd, env=env) as server:
            yield Running(framework, server.url, store, server.process, server.log, cwd)


@pytest.fixture
def fault_servers(servers: Any, tmp_path: Path) -> FaultServers:
    """``with fault_servers.serve("flask") as app: app.get("/hello")``."""
    return FaultServers(servers, tmp_path)


# -- load from client threads ----------------------------------------------------


@dataclass
class Load:
    """Client threads sending GETs in a loop until stopped (or a hard deadline)."""

    url: str
    paths: Callable[[int], str]  # request number -> path
    threads: int = 4
    max_seconds: float = 120.0
    gap_s: float = 0.0  # pause between one thread's requests
    # (request number, path, reply, monotonic time of the answer)
    replies: list[tuple[int, str, Reply, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)
    _counter: int = 0

    def _next(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            n = self._next()
            path = self.paths(n)
            reply = fetch(self.url, path)
            with self._lock:
                self.replies.append((n, path, reply, time.monotonic()))
            if self.gap_s:
                self._stop.wait(self.gap_s)

    def start(self) -> Load:
        for index in range(self.threads):
            thread = threading.Thread(target=self._run, name=f"load-{index}", daemon=True)
            self._workers.append(thread)
            thread.start()
        return self

    def stop(self) -> list[tuple[int, str, Reply, float]]:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=30)
        assert not any(t.is_alive() for t in self._workers), "a client thread hung"
        with self._lock:
            return sorted(self.replies, key=lambda r: r[0])

    def count(self) -> int:
        with self._lock:
            return len(self.replies)


class LoadMaker:
    """What the ``load`` fixture gives: ``load.start(url, paths)``; stopped at teardown."""

    def __init__(self) -> None:
        self.running: list[Load] = []

    def start(self, url: str, paths: Callable[[int], str], **options: Any) -> Load:
        started = Load(url, paths, **options).start()
        self.running.append(started)
        return started


@pytest.fixture
def load() -> Iterator[LoadMaker]:
    maker = LoadMaker()
    yield maker
    for running in maker.running:
        running.stop()


# -- the store, as an operator would inspect it ----------------------------------------


def integrity(store: Path) -> str:
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run the installed ``profiler-kit`` console script."""
    import sys

    exe = Path(sys.executable).parent / "profiler-kit"
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


@dataclass
class StoreTools:
    integrity = staticmethod(integrity)
    cli = staticmethod(cli)
    accounted = staticmethod(accounted)
    dropped = staticmethod(dropped)


@pytest.fixture
def store_tools() -> StoreTools:
    """``store_tools.integrity(path)``, ``store_tools.cli("ls", "--store", path)``, counters."""
    return StoreTools()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """``tmpfs("2m")``: a fresh tmpfs of that size under tmp_path, unmounted at teardown."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def make(size: str) -> Path:
        point = tmp_path / f"tmpfs-{len(mounted)}"
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
        mounted.append(point)
        return point

    try:
        yield make
    finally:
        for point in mounted:
            subprocess.run(["umount", "-l", str(point)], check=False, timeout=30)
