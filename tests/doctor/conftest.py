"""Fixtures for the ``profiler-kit doctor`` tests.

Doctor runs in a subprocess from ``tmp_path`` (running from the repository root
would import the checkout instead of the installed package), in an environment
without ``PROFILER_KIT_*`` and ``OTEL_*`` variables, so that only what a test
sets is seen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

TIMEOUT_S = 60.0

# A fresh interpreter in which `import memray` fails (as on Windows, or after a failed build).
WITHOUT_MEMRAY = textwrap.dedent(
    """
    import sys
    sys.modules["memray"] = None  # makes `import memray` raise ImportError
    from profiler_kit.cli import cli
    cli(prog_name="profiler-kit")
    """
)


@dataclass
class Doctor:
    """Runs ``profiler-kit doctor`` in ``cwd`` with ``env`` (plus per-call variables)."""

    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    def __call__(
        self, *args: str | Path, env: dict[str, str] | None = None, without_memray: bool = False
    ) -> subprocess.CompletedProcess[str]:
        launcher = ["-c", WITHOUT_MEMRAY] if without_memray else ["-m", "profiler_kit"]
        return subprocess.run(
            [sys.executable, *launcher, "doctor", *map(str, args)],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=TIMEOUT_S,
        )

    def json(self, *args: str | Path, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        result = self("--json", *args, **kwargs)
        assert "Traceback" not in result.stderr, explain(result)
        document = json.loads(result.stdout)
        assert isinstance(document, dict)
        return result.returncode, document

    @staticmethod
    def explain(result: subprocess.CompletedProcess[str], what: str = "unexpected result") -> str:
        return explain(result, what)

    @staticmethod
    def lines(result: subprocess.CompletedProcess[str], name: str) -> list[str]:
        """The output lines of the checks called ``name``."""
        found = [line for line in result.stdout.splitlines() if line[6:].split(" ", 1)[0] == name]
        assert found, explain(result, f"no {name!r} check")
        return found


def explain(result: subprocess.CompletedProcess[str], what: str = "unexpected result") -> str:
    return (
        f"{what}: {result.args!r} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


@pytest.fixture
def doctor(tmp_path: Path) -> Doctor:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PROFILER_KIT_", "OTEL_"))
    }
    env.pop("PYTHONSAFEPATH", None)
    env["PYTHONIOENCODING"] = "utf-8"
    return Doctor(cwd=tmp_path, env=env)
