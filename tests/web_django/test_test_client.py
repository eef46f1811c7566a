"""Django's test ``Client``: one capture per request, nothing left running.

Django's test client closes a plain response at once, and a streamed one only
once the test has read its body to the end; a test that checks the status of
a ``StreamingHttpResponse`` and drops it never closes it, and the capture
(and its profiler) used to stay open for good. Now the next request on the
same thread ends it, or the exit. Each scenario runs in a child
process (``client_scenario.py`` beside this file), since what happens at
exit is part of the check; the child reports what it saw once the responses
were dropped, then keeps one more response until exit.
"""

from __future__ import annotations

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


def run_scenario(url: str, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """The child's report, once it has exited cleanly and silently, and its store."""
    store = tmp_path / "captures.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILER_KIT_")}
    env.pop("PYTHONPATH", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PYINSTRUMENT_IGNORE_OVERHEAD_WARNING"] = "1"  # a loaded machine's timer warning
    done = subprocess.run(
        [sys.executable, str(SCENARIO), url, str(store)],
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


@pytest.mark.parametrize("url", ["/", "/stream"])
def test_django_test_client(tmp_path: Path, url: str) -> None:
    """For ``/stream`` the child sends one request to ``/`` after the streams: the
    next request on the thread ends the last stream left unread."""
    report, store = run_scenario(url, tmp_path)
    extra = 1 if url == "/stream" else 0
    assert report["captures"] == REQUESTS + extra
    assert report["profile_hook"] is None, "a profiler is still installed on the thread"
    assert report["profilers"] == 0, "pyinstrument profilers never stopped"
    assert report["registered"] == 0, "requests still registered with the sampler hub"
    assert report["threads"] == [], "profiler threads still alive"
    captures = read_captures(store)
    assert len(captures) == REQUESTS + extra + 1  # the one kept until exit is captured too
    assert sum(c.path == url for c in captures) == REQUESTS + 1
    assert {(c.status, c.reason) for c in captures} == {(200, "sampled")}
