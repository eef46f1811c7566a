"""profiler-kit where memray cannot be imported (Windows, or a failed build)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# Runs the CLI in a fresh interpreter in which `import memray` fails.
LAUNCH = textwrap.dedent(
    """
    import sys
    sys.modules["memray"] = None  # makes `import memray` raise ImportError
    from profiler_kit.cli import cli
    cli(prog_name="profiler-kit")
    """
)


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "work.py"
    script.write_text("def busy():\n    return sum(i * i for i in range(200_000))\n\nbusy()\n")
    return subprocess.run(
        [sys.executable, "-c", LAUNCH, "run", "--store", str(tmp_path / "s.sqlite3"), *args,
         str(script)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_cpu_profiling_works_without_memray(tmp_path: Path) -> None:
    """Without memray, `run` still profiles CPU, stores the capture and writes the report."""
    result = _run(tmp_path, "-o", str(tmp_path / "r.html"))
    assert result.returncode == 0, result.stderr
    assert "busy" in result.stderr
    assert (tmp_path / "r.html").exists()


def test_memory_option_says_why_it_is_unavailable(tmp_path: Path) -> None:
    """`--memory` without memray fails before running, naming memray and how to get it."""
    result = _run(tmp_path, "--memory")
    assert result.returncode == 2
    assert "--memory is unavailable" in result.stderr
    assert "pip install memray" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "s.sqlite3").exists()
