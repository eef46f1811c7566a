"""Fixtures for the tests of ``profiler-kit export otlp``.

The command runs as ``python -m profiler_kit`` in a subprocess from ``tmp_path``
with a clean environment (no ``OTEL_*`` nor ``PROFILER_KIT_*`` variables of
the machine), and exports to a real loopback receiver of
:mod:`profiler_kit.testing.otlp_receiver` (the ``otlp_http_receiver`` and
``otlp_grpc_receiver`` fixtures of tests/conftest.py).

Captures come from two sources:

* a real ``profiler-kit run`` of :data:`HOT_SCRIPT`, whose known hot function
  ``burn_cpu_hotspot`` must show up as a child span;
* captures written through the store API with a CPU profile built from known
  samples (:data:`KNOWN_PROFILE`), so that names, parents, shares and
  durations of the derived spans are known exactly.

With ``--import-mode=importlib`` test modules cannot import this file, so the
helpers are methods of the :class:`OtlpCli` object the ``otlp_cli`` fixture gives.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.store import open_store
from profiler_kit.store.record import Capture
from profiler_kit.testing import HOT_SCRIPT, frame_string, make_capture
from profiler_kit.testing.otlp_receiver import OtlpGrpcReceiver, OtlpHttpReceiver, ReceivedSpan

COMMAND_TIMEOUT_S = 60.0
DERIVED = "profiler_kit.derived_from_samples"

# The known profile: (root-first stack of (function, file, first line), seconds).
# Total 100 ms. Totals: handle_request 100 (self 4), load_orders 80 (self 60),
# decode_rows 20, render_page 15, log_line 1 (1 %: under the default 5 % share).
HANDLE = ("handle_request", "/app/views.py", 10)
LOAD = ("load_orders", "/app/db.py", 20)
DECODE = ("decode_rows", "/app/db.py", 50)
RENDER = ("render_page", "/app/views.py", 40)
LOG = ("log_line", "/app/views.py", 60)
KNOWN_PROFILE: list[tuple[list[tuple[str, str, int]], float]] = [
    ([HANDLE, LOAD], 0.060),
    ([HANDLE, LOAD, DECODE], 0.020),
    ([HANDLE, RENDER], 0.015),
    ([HANDLE], 0.004),
    ([HANDLE, LOG], 0.001),
]
KNOWN_TOTAL_S = 0.100
# function: (total s, self s, parent function or None for the request span)
KNOWN_NODES: dict[str, tuple[float, float, str | None]] = {
    "handle_request": (0.100, 0.004, None),
    "load_orders": (0.080, 0.060, "handle_request"),
    "decode_rows": (0.020, 0.020, "load_orders"),
    "render_page": (0.015, 0.015, "handle_request"),
    "log_line": (0.001, 0.001, "handle_request"),
}
# Child spans with the defaults (--min-share 0.05 --min-frame-ms 1).
KNOWN_DEFAULT_CHILDREN = {"handle_request", "load_orders", "decode_rows", "render_page"}

SUMMARY = re.compile(r"exported (\d+) captures? as (\d+) spans? to (\S+)")
# The spec's example is "sent 0 of 12 spans (0 of 3 captures)"; "of 12" is optional here
# (test_failure_message_counts_all_spans insists on it).
SENT = re.compile(r"sent (\d+) (?:of (\d+) )?spans? \((\d+) of (\d+) captures?\)")


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Export:
    """One run of ``profiler-kit export otlp`` and what its summary line says."""

    result: subprocess.CompletedProcess[str]
    seconds: float

    @property
    def returncode(self) -> int:
        return self.result.returncode

    @property
    def stderr(self) -> str:
        return self.result.stderr

    def summary(self) -> tuple[int, int, str]:
        """(captures, spans, endpoint) of the ``exported K captures as N spans to E`` line."""
        match = SUMMARY.search(self.result.stderr)
        assert match, explain(self.result, "no 'exported K captures as N spans to E' line")
        return int(match.group(1)), int(match.group(2)), match.group(3)

    def sent(self) -> tuple[int, int | None, int, int]:
        """(S, N, C, K) of the ``sent S [of N] spans (C of K captures)`` message; N may be None."""
        match = SENT.search(self.result.stderr)
        assert match, explain(self.result, "no 'sent S of N spans (C of K captures)' message")
        sent_spans, spans, sent_captures, captures = match.groups()
        return (
            int(sent_spans),
            None if spans is None else int(spans),
            int(sent_captures),
            int(captures),
        )


@dataclass
class OtlpCli:
    """Runs the CLI in ``cwd``; writes captures into ``store``."""

    cwd: Path
    store: Path
    env: dict[str, str]
    added: list[Capture] = field(default_factory=list)

    # Constants and helpers of this file, for test modules (which cannot import it).
    DERIVED = DERIVED
    KNOWN_NODES = KNOWN_NODES
    KNOWN_DEFAULT_CHILDREN = KNOWN_DEFAULT_CHILDREN
    KNOWN_TOTAL_S = KNOWN_TOTAL_S

    @staticmethod
    def closed_port() -> int:
        return closed_port()

    @staticmethod
    def span_set(spans: Iterable[ReceivedSpan]) -> SpanSet:
        return SpanSet(spans)

    @staticmethod
    def explain(result: subprocess.CompletedProcess[str], what: str = "unexpected result") -> str:
        return explain(result, what)

    # -- running ----------------------------------------------------------------

    def __call__(
        self,
        *args: str | Path,
        env: dict[str, str] | None = None,
        timeout: float = COMMAND_TIMEOUT_S,
    ) -> Export:
        """``profiler-kit ARGS`` with extra environment variables; returns the run."""
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "profiler_kit", *map(str, args)],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
        )
        return Export(result, time.monotonic() - started)

    def export(
        self,
        receiver: OtlpHttpReceiver | OtlpGrpcReceiver | None,
        *args: str | Path,
        store: Path | None = None,
        env: dict[str, str] | None = None,
        check_rc: int | None = 0,
    ) -> Export:
        """``export otlp STORE --endpoint E --protocol P ARGS``; no endpoint for ``None``."""
        target: list[str] = []
        if isinstance(receiver, OtlpHttpReceiver):
            target = ["--endpoint", receiver.endpoint, "--protocol", "http/protobuf"]
        elif isinstance(receiver, OtlpGrpcReceiver):
            target = ["--endpoint", receiver.endpoint, "--protocol", "grpc"]
        run = self("export", "otlp", store or self.store, *target, *args, env=env)
        if check_rc is not None:
            assert run.returncode == check_rc, explain(run.result, f"expected exit {check_rc}")
        assert_no_traceback(run.result)
        return run

    # -- captures ---------------------------------------------------------------

    def add(self, *captures: Capture, store: Path | None = None) -> list[Capture]:
        """Write captures into the store (the test's own unless ``store``)."""
        with open_store(store or self.store) as opened:
            for capture in captures:
                opened.add(capture)
        self.added.extend(captures)
        return list(captures)

    @staticmethod
    def known_capture(**changes: Any) -> Capture:
        """A GET /orders/{id} request capture with :data:`KNOWN_PROFILE`, 200 ms of wall time."""
        records = [
            ([frame_string(*frame) for frame in stack], seconds) for stack, seconds in KNOWN_PROFILE
        ]
        defaults: dict[str, Any] = {
            "wall_s": 0.200,
            "cpu_s": 0.090,
            "target": "shop",
            "extra": {"gc_s": 0.004},
        }
        return make_capture(records, **{**defaults, **changes})

    def known_captures(self, count: int, **changes: Any) -> list[Capture]:
        """``count`` known captures a second apart, added to the store."""
        base = time.time() - 3600
        return self.add(
            *(self.known_capture(started_at=base + index, **changes) for index in range(count))
        )


def explain(result: subprocess.CompletedProcess[str], what: str = "unexpected result") -> str:
    """An assertion message with the command, its exit status and its output."""
    return (
        f"{what}: {result.args!r} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, explain(result, "traceback on stderr")
    assert "Traceback" not in result.stdout, explain(result, "traceback on stdout")


def clean_environment(store: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PROFILER_KIT_", "OTEL_"))
    }
    env.pop("PYTHONSAFEPATH", None)
    env["PROFILER_KIT_STORE"] = str(store)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def make_cli(directory: Path) -> OtlpCli:
    store = directory / "captures.sqlite3"
    return OtlpCli(cwd=directory, store=store, env=clean_environment(store))


@pytest.fixture
def otlp_cli(tmp_path: Path) -> OtlpCli:
    """The CLI, run from ``tmp_path`` against this test's private store."""
    return make_cli(tmp_path)


@dataclass
class HotRun:
    """A store holding one capture of a real ``profiler-kit run hot_script.py``."""

    cli: OtlpCli
    script: Path
    capture: Capture

    @property
    def store(self) -> Path:
        return self.cli.store


@pytest.fixture(scope="module")
def hot_run(tmp_path_factory: pytest.TempPathFactory) -> HotRun:
    cli = make_cli(tmp_path_factory.mktemp("hot"))
    script = cli.cwd / "hot_script.py"
    script.write_text(HOT_SCRIPT, encoding="utf-8")
    run = cli("run", "--store", cli.store, "--no-report", "-q", script.name)
    assert run.returncode == 0, explain(run.result, "profiler-kit run failed")
    with open_store(cli.store, create=False) as opened:
        capture = opened.latest()
    return HotRun(cli, script, capture)


# -- assertions on exported spans ---------------------------------------------------


class SpanSet:
    """The spans of one export, indexed for assertions."""

    def __init__(self, spans: Iterable[ReceivedSpan]) -> None:
        self.spans = list(spans)
        self.by_id = {span.span_id: span for span in self.spans}
        self.requests = [span for span in self.spans if DERIVED not in span.attributes]
        self.children = [span for span in self.spans if DERIVED in span.attributes]

    def request_of(self, capture_id: str) -> ReceivedSpan:
        found = [
            span
            for span in self.requests
            if span.attributes.get("profiler_kit.capture_id") == capture_id
        ]
        assert len(found) == 1, (capture_id, [s.attributes for s in self.requests])
        return found[0]

    def descendants(self, root: ReceivedSpan) -> list[ReceivedSpan]:
        """Spans whose chain of parents within this export leads to ``root``."""
        out = []
        for span in self.children:
            ancestor: ReceivedSpan | None = span
            while ancestor is not None and ancestor.span_id != root.span_id:
                ancestor = self.by_id.get(ancestor.parent_span_id)
            if ancestor is not None:
                out.append(span)
        return out

    def parent_name(self, span: ReceivedSpan) -> str | None:
        """Function name of a child's parent span; None when the parent is a request span."""
        parent = self.by_id[span.parent_span_id]
        return None if DERIVED not in parent.attributes else parent.name
