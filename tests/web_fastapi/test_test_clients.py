"""Starlette's TestClient and httpx's ASGITransport: one capture per request, nothing left running.

The ASGI core ends a capture when the last body chunk is sent or the app
returns, so in-process clients (which run the app to its end before they
return a response) need nothing of their own; these tests keep it so. Each
scenario runs in a child process (``client_scenario.py`` beside this file),
since what happens at exit is part of the check; the child reports what it
saw once the responses were dropped, then keeps one more response until exit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.testing import read_captures

SCENARIO = Path(__file__).with_name("client_scenario.py")
REQUESTS = 20  # client_scenario.REQUESTS
TIMEOUT_S = 120


def run_scenario(kind: str, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """The child's report, once it has exited cleanly and silently, and its store."""
    store = tmp_path / "captures.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILER_KIT_")}
    env.pop("PYTHONPATH", None)
    env["PYINSTRUMENT_IGNORE_OVERHEAD_WARNING"] = "1"  # a loaded machine's timer warning
    done = subprocess.run(
        [sys.executable, str(SCENARIO), kind, str(store)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "printed at exit"
    lines = done.stdout.strip().splitlines()
    assert lines, "the scenario reported nothing"
    return json.loads(lines[-1]), store


def need(*modules: str) -> None:
    """Skip unless one of ``modules`` is installed (the clients come with httpx or httpx2)."""
    if not any(importlib.util.find_spec(name) for name in modules):
        pytest.skip(f"needs {' or '.join(modules)}")


@pytest.mark.parametrize("kind", ["testclient", "asgitransport"])
def test_in_process_clients(tmp_path: Path, kind: str) -> None:
    need(*(["httpx2", "httpx"] if kind == "testclient" else ["httpx"]))
    report, store = run_scenario(kind, tmp_path)
    assert report["captures"] == REQUESTS
    assert report["profile_hook"] is None, "a profiler is still installed on the thread"
    assert report["profilers"] == 0, "pyinstrument profilers never stopped"
    assert report["registered"] == 0, "requests still registered with the sampler hub"
    assert report["threads"] == [], "profiler threads still alive"
    captures = read_captures(store)
    assert len(captures) == REQUESTS + 1  # the response kept until exit is captured too
    assert {(c.route, c.status, c.reason) for c in captures} == {
        ("/async", 200, "sampled"),
        ("/sync", 200, "sampled"),
    }
