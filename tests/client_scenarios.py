"""In-process test clients driven in a child process: both halves of the exchange.

Each framework's folder has a ``client_scenario.py`` that sends requests
through that framework's own test client, the way its users' tests do. What
happens at the interpreter's exit is part of what is checked, so the
scenario runs as a child process and tells the parent, in one JSON line,
what the store held and what was still running once the responses were
dropped. The child half (:func:`print_report`) and the parent half
(:func:`run_scenario`, :func:`assert_nothing_running`) sit together so that
the report is written and read in one place.

Importable once this folder is on ``sys.path``: the web test folders' conftests
put it there, and :func:`run_scenario` passes it to the child in ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent
REQUESTS = 20  # dropped responses per scenario; one more is kept until exit
THREAD_EXIT_S = 10.0  # the sampler hub lingers 2 s after its last target
TIMEOUT_S = 120


# -- in the child ------------------------------------------------------------------------


def profiler_threads() -> list[str]:
    """Names of the threads a profiler or the sampler hub runs on."""
    return [
        t.name
        for t in threading.enumerate()
        if "pyinstrument" in t.name.lower() or "sampler" in t.name.lower()
    ]


def still_running(*, wait_for_threads: bool = True) -> dict[str, Any]:
    """What profiling is left once every response has been dropped.

    Profiler threads get ``THREAD_EXIT_S`` to end first: the hub keeps its
    thread a while after the last request on purpose.
    """
    from profiler_kit.capture.sampler import hub
    from profiler_kit.web.engines import profile_hook
    from profiler_kit.web.recorder import InFlight

    deadline = time.monotonic() + THREAD_EXIT_S
    while wait_for_threads and time.monotonic() < deadline and profiler_threads():
        time.sleep(0.05)
    return {
        "profile_hook": repr(sys.getprofile()) if sys.getprofile() is not None else None,
        "profilers": profile_hook.profilers,
        "registered": sum(isinstance(t, InFlight) for t in hub.registered()),
        "threads": profiler_threads(),
    }


def print_report(captures: int, *, wait_for_threads: bool = True, **more: Any) -> None:
    """The one JSON line the parent reads: the store's count, what still runs, and ``more``."""
    report = {"captures": captures, **more, **still_running(wait_for_threads=wait_for_threads)}
    print(json.dumps(report), flush=True)


# -- in the parent -----------------------------------------------------------------------


def run_scenario(
    script: Path, argument: str, tmp_path: Path, *, unset: Iterable[str] = ()
) -> tuple[dict[str, Any], Path]:
    """The child's report, once it has exited cleanly and silently, and its store.

    The child gets none of the runner's ``PROFILER_KIT_*`` settings, nor the
    variables named in ``unset``, so that only the scenario configures it.
    """
    store = tmp_path / "captures.sqlite3"
    dropped = set(unset)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PROFILER_KIT_") and name not in dropped
    }
    env["PYTHONPATH"] = str(TESTS_DIR)  # for the child half of this module, and nothing else
    env["PYINSTRUMENT_IGNORE_OVERHEAD_WARNING"] = "1"  # a loaded machine's timer warning
    done = subprocess.run(
        [sys.executable, str(script), argument, str(store)],
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


def assert_nothing_running(report: dict[str, Any]) -> None:
    assert report["profile_hook"] is None, "a profiler is still installed on the thread"
    assert report["profilers"] == 0, "pyinstrument profilers never stopped"
    assert report["registered"] == 0, "requests still registered with the sampler hub"
    assert report["threads"] == [], "profiler threads still alive"
