"""Fixtures for the CLI integration tests.

Every command runs ``python -m profiler_kit`` in a subprocess, from ``tmp_path``
(running from the repository root would import the checkout instead of the
installed package) and against a store inside ``tmp_path``.

With ``--import-mode=importlib`` test modules cannot import this file, so the
helpers are methods of the :class:`ProfilerKit` object the ``pk`` fixture gives.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

COMMAND_TIMEOUT_S = 30.0

_DATA_BLOB = re.compile(
    r'<script id="profiler-kit-data" type="application/json">(.*?)</script>', re.S
)
_CAPTURE_SAVED = re.compile(r"^Capture (\S+) saved to ", re.M)
_SUMMARY_ROW = re.compile(
    r"^\s+(?P<self>[\d.]+ \S+)\s+(?P<total>[\d.]+ \S+)\s+(?P<share>[\d.]+%)"
    r"  (?P<name>\S+)(?:  (?P<where>\S.*))?$"
)

SEED_SCRIPT = """\
def quick_seed_function():
    return sum(range(1000))


print("seeded", quick_seed_function())
"""


@dataclass
class ProfilerKit:
    """Runs the CLI in ``cwd`` with ``PROFILER_KIT_STORE`` pointing at ``store``."""

    cwd: Path
    store: Path
    env: dict[str, str]

    # -- running -------------------------------------------------------------

    def command(self, *args: str | Path) -> list[str]:
        return [sys.executable, "-m", "profiler_kit", *map(str, args)]

    def __call__(
        self,
        *args: str | Path,
        input: str = "",
        check_rc: int | None = None,
        timeout: float = COMMAND_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        """``profiler-kit ARGS``; with ``check_rc``, assert the exit status."""
        result = self._run(self.command(*args), input, timeout)
        if check_rc is not None:
            assert result.returncode == check_rc, _explain(result, f"expected exit {check_rc}")
        return result

    def popen(self, *args: str | Path) -> subprocess.Popen[str]:
        """The CLI, running; SIGINT is set back to its default in the child.

        A test run started in the background by a non-interactive shell
        (``cmd &``) inherits SIGINT *ignored*, and Python then keeps it
        ignored, as it should: Ctrl-C tests would wait forever.
        """
        return subprocess.Popen(
            self.command(*args),
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            preexec_fn=_default_sigint,
        )

    def python(self, *args: str | Path, input: str = "") -> subprocess.CompletedProcess[str]:
        """Plain ``python ARGS`` in the same directory and environment, for comparison."""
        return self._run([sys.executable, *map(str, args)], input, COMMAND_TIMEOUT_S)

    def _run(
        self, argv: Sequence[str], input: str, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Both commands run alike, so a difference in output is the CLI's, not the harness's."""
        return subprocess.run(
            argv,
            cwd=self.cwd,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
        )

    def ls_json(self, *store_args: str | Path) -> list[dict[str, Any]]:
        """``ls --all --json`` of the test's store (or of ``--store X`` in ``store_args``)."""
        result = self("ls", "--all", "--json", *store_args, check_rc=0)
        listing = json.loads(result.stdout)
        assert isinstance(listing, list)
        return listing

    def seed(self, store: Path | None = None) -> str:
        """Store one capture of a quick script with a good run; return its id."""
        store = store or self.store
        script = self.write("seed_script.py", SEED_SCRIPT)
        before = {c["id"] for c in self.ls_json("--store", store)} if store.exists() else set()
        self("run", "--store", store, "--no-report", "-q", script.name, check_rc=0)
        new = [c for c in self.ls_json("--store", store) if c["id"] not in before]
        assert len(new) == 1 and new[0]["target"] == script.name, new
        return str(new[0]["id"])

    # -- files ----------------------------------------------------------------

    def write(self, name: str, source: str) -> Path:
        """Write a dedented script into ``cwd``; return its path."""
        path = self.cwd / name
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    @staticmethod
    def line_of(path: Path, marker: str) -> int:
        """1-based number of the only line of ``path`` containing ``marker``."""
        lines = [
            number
            for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if marker in text
        ]
        assert len(lines) == 1, f"marker {marker!r} on lines {lines} of {path}"
        return lines[0]

    # -- reading output --------------------------------------------------------

    @staticmethod
    def report_data(html_file: Path) -> dict[str, Any]:
        """The JSON data embedded in an HTML report."""
        match = _DATA_BLOB.search(html_file.read_text(encoding="utf-8"))
        assert match, f"no profiler-kit-data blob in {html_file}"
        data = json.loads(match.group(1))
        assert isinstance(data, dict)
        return data

    @staticmethod
    def hotspot_names(data: dict[str, Any]) -> list[str]:
        """Function names of a report's hotspots, heaviest self time first."""
        return [data["frames"][h["f"]]["name"] for h in data["hotspots"]]

    @staticmethod
    def summary_rows(stderr: str, title: str) -> list[dict[str, str]]:
        """Rows of one table of the terminal summary: self, total, share, name, where."""
        lines = stderr.splitlines()
        assert title in lines, f"no {title!r} table in:\n{stderr}"
        rows = []
        for line in lines[lines.index(title) + 2 :]:  # + 2: skip the column header
            match = _SUMMARY_ROW.match(line)
            if not match:
                break
            rows.append({key: value or "" for key, value in match.groupdict().items()})
        assert rows, f"empty {title!r} table in:\n{stderr}"
        return rows

    @staticmethod
    def saved_capture_id(stderr: str) -> str:
        """The id in the summary's ``Capture ID saved to STORE`` line."""
        match = _CAPTURE_SAVED.search(stderr)
        assert match, f"no 'Capture ... saved to' line in:\n{stderr}"
        return match.group(1)

    @staticmethod
    def explain(result: subprocess.CompletedProcess[str], what: str = "unexpected result") -> str:
        """An assertion message with the command, its exit status and its output."""
        return _explain(result, what)

    @staticmethod
    def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
        assert "Traceback" not in result.stderr, _explain(result, "traceback on stderr")
        assert "Traceback" not in result.stdout, _explain(result, "traceback on stdout")


def _explain(result: subprocess.CompletedProcess[str], what: str) -> str:
    return (
        f"{what}: {result.args!r} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


def _clean_environment(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILER_KIT_")}
    env.pop("PYTHONSAFEPATH", None)  # it would change sys.path[0] under plain python
    env.pop("PYTHONUNBUFFERED", None)  # targets get the default buffering
    env["PROFILER_KIT_STORE"] = str(store)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def make_profiler_kit(directory: Path) -> ProfilerKit:
    store = directory / "captures.sqlite3"
    return ProfilerKit(cwd=directory, store=store, env=_clean_environment(store))


@pytest.fixture(scope="session")
def pk_factory() -> Callable[[Path], ProfilerKit]:
    """Makes a :class:`ProfilerKit` for a directory, for module-scoped fixtures."""
    return make_profiler_kit


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Path of this test's private capture store (not created yet)."""
    return tmp_path / "captures.sqlite3"


@pytest.fixture
def pk(tmp_path: Path, store: Path) -> ProfilerKit:
    """The CLI, run from ``tmp_path`` against this test's private store."""
    kit = make_profiler_kit(tmp_path)
    assert kit.store == store
    return kit


@pytest.fixture
def seeded(pk: ProfilerKit) -> str:
    """Id of one capture put in ``pk.store`` by a good run before the test acts."""
    return pk.seed()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
