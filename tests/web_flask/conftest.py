"""Fixtures for the Flask-under-gunicorn tests.

The app under test is ``flask_app_under_test.py`` beside this file. Servers run
with their working directory in ``tmp_path`` (so their logs and anything
relative land there, not in the checkout) and find the app through gunicorn's
``--pythonpath``. Every ``PROFILER_KIT_*`` variable is passed explicitly: the
ones a test does not set are passed empty, which profiler-kit reads as "not
given", so the runner's own environment cannot leak into a test.

With ``--import-mode=importlib`` test modules cannot import this file: the
helpers are reached through the ``flask_servers`` fixture.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from server_env import gunicorn_isolation_args, profiler_kit_env

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.store import CaptureSummary, open_store
from profiler_kit.testing import read_captures, wait_for_captures

APP_DIR = Path(__file__).resolve().parent
APP = "flask_app_under_test:app"
FAILURE_LINE = re.compile(r"^profiler-kit: (?P<kind>.+?) failed \(", re.M)
APP_ENV_DEFAULTS = {"FAULT": "", "PROPAGATE_EXCEPTIONS": ""}  # knobs of the test app


@dataclass
class Running:
    """One running gunicorn serving the test app, and where it writes."""

    server: Any  # tests/conftest.py Server: url, process, log, output()
    servers: Any
    store: Path
    stats_dir: Path

    @property
    def url(self) -> str:
        return str(self.server.url)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Any:
        """GET on the server; HTTP errors come back as responses."""
        return self.servers.get(self.url + path, headers)

    def output(self) -> str:
        return str(self.server.output())

    def failures_logged(self) -> list[str]:
        """The kinds of the "profiler-kit: <kind> failed (...)" lines in the server log."""
        return [match["kind"] for match in FAILURE_LINE.finditer(self.output())]

    def captures(self, **kwargs: Any) -> list[CaptureSummary]:
        return read_captures(self.store, **kwargs)

    def wait_for(self, count: int, **kwargs: Any) -> list[CaptureSummary]:
        return wait_for_captures(self.store, count, **kwargs)

    def worker_stats(self) -> dict[int, dict[str, Any]]:
        """Counters each worker wrote at exit (after flushing its writer), by pid."""
        return {
            int(path.stem): json.loads(path.read_text())
            for path in sorted(self.stats_dir.glob("*.json"))
        }

    def view(self, capture_id: str) -> CaptureView:
        """The full capture, decoded."""
        with open_store(self.store, create=False) as store:
            return CaptureView.load(store.get(capture_id))

    def raw_rows(self) -> list[dict[str, Any]]:
        """Every column of every stored capture, straight from SQLite."""
        db = sqlite3.connect(self.store)
        try:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute("SELECT * FROM captures")]
        finally:
            db.close()


class FlaskServers:
    """Starts the test app under gunicorn with chosen profiler-kit settings."""

    def __init__(self, servers: Any, tmp_path: Path) -> None:
        self.servers = servers
        self.tmp_path = tmp_path
        self._runs = 0

    def env(self, settings: Mapping[str, Any], store: Path) -> dict[str, str]:
        return profiler_kit_env(settings, store)

    @contextlib.contextmanager
    def serve(
        self,
        *,
        workers: int = 1,
        store: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
        gunicorn_args: tuple[str, ...] = (),
        **settings: Any,
    ) -> Iterator[Running]:
        """Run gunicorn until the block ends; leaving it SIGTERMs the server, which
        makes every worker flush its capture writer and write its counters."""
        self._runs += 1
        run_dir = self.tmp_path / f"server{self._runs}"
        stats_dir = run_dir / "stats"
        stats_dir.mkdir(parents=True)
        store = store if store is not None else run_dir / "captures.sqlite3"
        env = {**self.env(settings, store), **APP_ENV_DEFAULTS, "STATS_DIR": str(stats_dir)}
        env.update(extra_env or {})
        port = self.servers.free_port()
        argv = self.servers.gunicorn_argv(
            APP,
            port,
            "--pythonpath",
            str(APP_DIR),
            "--workers",
            str(workers),
            *gunicorn_isolation_args(),
            *gunicorn_args,
        )
        with self.servers.run(argv, port=port, cwd=run_dir, env=env) as server:
            yield Running(server, self.servers, store, stats_dir)


@pytest.fixture
def flask_servers(servers: Any, tmp_path: Path) -> FlaskServers:
    """``with flask_servers.serve(sample_rate=1, slow_ms=0) as app: app.get("/hello")``."""
    return FlaskServers(servers, tmp_path)


@pytest.fixture
def reference_responses(flask_servers: FlaskServers) -> Any:
    """``reference_responses(paths)``: each path's (status, body, content type) from the
    same app with profiling disabled (PROFILER_KIT_ENABLED=false)."""

    def fetch(
        paths: list[str], extra_env: Mapping[str, str] | None = None
    ) -> dict[str, tuple[int, bytes, str | None]]:
        with flask_servers.serve(enabled=False, extra_env=extra_env) as app:
            out = {}
            for path in paths:
                reply = app.get(path)
                out[path] = (reply.status, reply.body, reply.headers.get("Content-Type"))
            return out

    return fetch


@pytest.fixture
def response_key() -> Any:
    """What "identical response" compares: status, body and content type."""

    def key(reply: Any) -> tuple[int, bytes, str | None]:
        return (reply.status, reply.body, reply.headers.get("Content-Type"))

    return key
