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
from pathlib import Path

import pytest
from client_scenarios import REQUESTS, assert_nothing_running, run_scenario

from profiler_kit.testing import read_captures

SCENARIO = Path(__file__).with_name("client_scenario.py")


def need(*modules: str) -> None:
    """Skip unless one of ``modules`` is installed (the clients come with httpx or httpx2)."""
    if not any(importlib.util.find_spec(name) for name in modules):
        pytest.skip(f"needs {' or '.join(modules)}")


@pytest.mark.parametrize("kind", ["testclient", "asgitransport"])
def test_in_process_clients(tmp_path: Path, kind: str) -> None:
    need(*(["httpx2", "httpx"] if kind == "testclient" else ["httpx"]))
    report, store = run_scenario(SCENARIO, kind, tmp_path)
    assert report["captures"] == REQUESTS
    assert_nothing_running(report)
    captures = read_captures(store)
    assert len(captures) == REQUESTS + 1  # the response kept until exit is captured too
    assert {(c.route, c.status, c.reason) for c in captures} == {
        ("/async", 200, "sampled"),
        ("/sync", 200, "sampled"),
    }
