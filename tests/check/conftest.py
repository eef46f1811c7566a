"""Fixtures for the integration tests of ``profiler-kit bench``, ``baseline save`` and ``check``.

Every command runs ``python -m profiler_kit`` in a subprocess from a
temporary directory (never the checkout, whose pyproject.toml would be read
for ``[tool.profiler-kit.check]``), against a store in that directory. The
workloads under ``workloads/`` are copied there first, so ``--app module:app``
imports them from the working directory as it would in a user's project.

With ``--import-mode=importlib`` test modules cannot import this file, so the
helpers are methods of the :class:`CheckKit` object the fixtures give.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

WORKLOADS = Path(__file__).parent / "workloads"
COMMAND_TIMEOUT_S = 240.0  # a bench of 20 rounds on a loaded 2-core runner

# Variables of the workloads and of CI that must not leak in from the calling environment.
_OWN_VARIABLES = ("KNOBS", "KNOB_FACTOR", "SQL_APP_QUERIES", "GITHUB_STEP_SUMMARY")

_ROW_SPLIT = re.compile(r"\s{2,}")


@dataclass(frozen=True)
class Row:
    """One row of the text table of ``profiler-kit check``."""

    marked: bool  # the leading "!" of a regressed row
    target: str
    metric: str
    baseline: str
    current: str
    verdict: str
    cells: tuple[str, ...]


@dataclass
class CheckKit:
    """Runs the CLI in ``cwd`` with ``PROFILER_KIT_STORE`` pointing at ``store``."""

    cwd: Path
    store: Path
    env: dict[str, str]

    # -- running ----------------------------------------------------------------

    def __call__(
        self,
        *args: str | Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        check_rc: int | None = None,
        timeout: float = COMMAND_TIMEOUT_S,
    ) -> subprocess.CompletedProcess[str]:
        """``profiler-kit ARGS``; ``env`` is added to the kit's environment."""
        result = subprocess.run(
            [sys.executable, "-m", "profiler_kit", *map(str, args)],
            cwd=cwd or self.cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
        )
        if check_rc is not None:
            assert result.returncode == check_rc, explain(result, f"expected exit {check_rc}")
        return result

    def bench(
        self,
        *args: str | Path,
        env: Mapping[str, str] | None = None,
        store: Path | None = None,
        repeat: int = 10,
        warmup: int = 2,
    ) -> subprocess.CompletedProcess[str]:
        """A successful ``profiler-kit bench ARGS`` into ``store`` (the kit's by default)."""
        return self(
            "bench",
            "--store",
            store or self.store,
            "--repeat",
            str(repeat),
            "--warmup",
            str(warmup),
            *args,
            env=env,
            check_rc=0,
        )

    def save_baseline(self, output: Path, store: Path | None = None) -> Path:
        self("baseline", "save", "--store", store or self.store, "-o", output, check_rc=0)
        return output

    def baseline_document(self, store: Path | None = None) -> dict[str, Any]:
        """The newest bench run of ``store`` as ``baseline save -o -`` prints it."""
        result = self("baseline", "save", "--store", store or self.store, "-o", "-", check_rc=0)
        document = json.loads(result.stdout)
        assert isinstance(document, dict)
        return document

    def ls(self, store: Path | None = None) -> list[dict[str, Any]]:
        result = self("ls", "--all", "--json", "--store", store or self.store, check_rc=0)
        listing = json.loads(result.stdout)
        assert isinstance(listing, list)
        return listing

    # -- files ----------------------------------------------------------------------

    def copy(self, *names: str) -> None:
        """Copy workloads from ``workloads/`` into ``cwd``."""
        for name in names:
            shutil.copy(WORKLOADS / name, self.cwd / name)

    def write(self, name: str, text: str) -> Path:
        path = self.cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    # -- reading output ----------------------------------------------------------------

    @staticmethod
    def rows(text: str) -> list[Row]:
        """The rows of the table in ``check``'s text output."""
        lines = text.splitlines()
        header = next(
            (i for i, line in enumerate(lines) if line.split()[:2] == ["target", "metric"]), None
        )
        assert header is not None, f"no table in:\n{text}"
        rows = []
        for line in lines[header + 1 :]:
            if not line.strip():
                break
            cells = tuple(_ROW_SPLIT.split(line[1:].strip()))
            assert len(cells) == 9, f"row {line!r} has {len(cells)} cells, not 9"
            rows.append(
                Row(line[0] == "!", cells[0], cells[1], cells[2], cells[3], cells[-1], cells)
            )
        return rows

    @classmethod
    def row(cls, text: str, metric: str, target: str | None = None) -> Row:
        found = [
            row
            for row in cls.rows(text)
            if row.metric == metric and (target is None or row.target == target)
        ]
        assert len(found) == 1, f"{len(found)} rows of {metric} in:\n{text}"
        return found[0]

    @classmethod
    def regressed(cls, text: str) -> set[str]:
        """Metrics of the rows marked as regressed."""
        regressed = set()
        for row in cls.rows(text):
            assert row.marked == (row.verdict == "REGRESSED"), row
            if row.marked:
                regressed.add(row.metric)
        return regressed

    @staticmethod
    def explain(result: subprocess.CompletedProcess[str], what: str = "unexpected result") -> str:
        return explain(result, what)

    @staticmethod
    def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
        assert "Traceback" not in result.stderr, explain(result, "traceback on stderr")
        assert "Traceback" not in result.stdout, explain(result, "traceback on stdout")

    @classmethod
    def assert_input_error(cls, result: subprocess.CompletedProcess[str], *fragments: str) -> str:
        """Exit 2, one ``profiler-kit: error:`` line holding every fragment, no traceback."""
        assert result.returncode == 2, explain(result, "expected exit 2")
        cls.assert_no_traceback(result)
        errors = [line for line in result.stderr.splitlines() if "error:" in line.lower()]
        assert len(errors) == 1, explain(result, "expected one error line")
        for fragment in fragments:
            assert fragment in errors[0], explain(result, f"{fragment!r} not in the error")
        return errors[0]


def explain(result: subprocess.CompletedProcess[str], what: str) -> str:
    """An assertion message with the command, its exit status and its output."""
    return (
        f"{what}: {result.args!r} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


def _environment(store: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PROFILER_KIT_") and key not in _OWN_VARIABLES
    }
    env.pop("PYTHONSAFEPATH", None)
    env["PROFILER_KIT_STORE"] = str(store)
    # Apps with the profiler-kit middleware would profile every benchmarked request.
    env["PROFILER_KIT_ENABLED"] = "false"
    env["PYTHONIOENCODING"] = "utf-8"
    env["KNOBS"] = "base"
    return env


def make_kit(directory: Path) -> CheckKit:
    directory.mkdir(parents=True, exist_ok=True)
    store = directory / "captures.sqlite3"
    return CheckKit(cwd=directory, store=store, env=_environment(store))


@pytest.fixture(scope="session")
def kit_factory() -> Callable[[Path], CheckKit]:
    """Makes a :class:`CheckKit` for a directory, for module-scoped fixtures."""
    return make_kit


@pytest.fixture
def kit(tmp_path: Path) -> CheckKit:
    """The CLI, run from ``tmp_path`` against a store there."""
    return make_kit(tmp_path)


@pytest.fixture(scope="session")
def needs_memray() -> None:
    """Skip where memray (the allocation counts) is not available."""
    pytest.importorskip("memray")
