"""CPU cost as a count: machine instructions of one call, counted by valgrind.

Timings on a shared runner wander by far more than the regressions a check
looks for: on a 2-vCPU VM the median of a 30-sample CPU timing moved by 10 to
18 % between two identical runs a few seconds apart, because the host's other
tenants change how fast the same instructions run. The number of instructions
hardly changes: under valgrind's cachegrind (its cache simulation off) one
call of the same code counts the same instructions to within 0.1 % whatever
the load, with the hash seed fixed and Python's small-object allocator
replaced by malloc. (With pymalloc, the heap left by start-up decides whether
a loop's allocations cross a pool boundary on every step: setting
PYTHONIOENCODING alone moved a loop's count by 2 %.) That is what continuous
benchmarking services measure on CI runners for the same reason.

Each target is counted in child processes of its own, run under valgrind:
one that sets every target up and warms it (one untimed call) and stops, and
one per target that does the same plus one more call of that target. The
difference is that call's instructions, with start-up, imports and set-up
cancelled out. Children run concurrently: a count does not care how busy the
machine is. Valgrind makes Python about 30 times slower, so this is opt-in
(``profiler-kit bench --instructions``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from profiler_kit.errors import ProfilerKitError

__all__ = [
    "InstructionRecipe",
    "InstructionsUnavailableError",
    "count_instructions",
    "require_valgrind",
    "valgrind_path",
]

#: Environment that makes two runs of the same code execute the same
#: instructions: one string hash seed, malloc instead of pymalloc (whose cost
#: per allocation depends on the heap's layout, which depends on everything
#: start-up did), no .pyc written by the first run and read by the next, and
#: the app's own profiler-kit middleware switched off.
DETERMINISTIC_ENV = {
    "PYTHONHASHSEED": "0",
    "PYTHONMALLOC": "malloc",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PROFILER_KIT_ENABLED": "false",
}
CHILD_TIMEOUT_S = 1800.0


class InstructionsUnavailableError(ProfilerKitError):
    """Instructions cannot be counted here (no valgrind, or its run failed)."""


@dataclass(frozen=True)
class InstructionRecipe:
    """How a child process rebuilds the bench's targets, in the bench's order.

    ``cwd`` is where the parent ran, so relative script paths, ``--app``
    modules and ``@body`` files resolve the same way.
    """

    script: str | None = None
    script_args: tuple[str, ...] = ()
    app: str | None = None
    requests: tuple[str, ...] = ()
    cwd: str = field(default_factory=os.getcwd)

    @property
    def target_count(self) -> int:
        return (1 if self.script is not None else 0) + len(self.requests)

    def to_json(self, measure: int | None) -> str:
        return json.dumps(
            {
                "script": self.script,
                "script_args": list(self.script_args),
                "app": self.app,
                "requests": list(self.requests),
                "measure": measure,
            }
        )


def valgrind_path() -> str | None:
    return shutil.which("valgrind")


def require_valgrind() -> str:
    """valgrind's path; :class:`InstructionsUnavailableError` saying how to install it."""
    valgrind = valgrind_path()
    if valgrind is None:
        raise InstructionsUnavailableError(
            "valgrind is not installed: it counts the instructions "
            "(Debian/Ubuntu: apt-get install valgrind; not available on macOS or Windows)"
        )
    return valgrind


def count_instructions(
    recipe: InstructionRecipe,
    *,
    jobs: int | None = None,
    progress: Callable[[], None] | None = None,
) -> list[int]:
    """Instructions of one call of each target, in the recipe's order.

    Raises :class:`InstructionsUnavailableError` without valgrind, or when a
    child fails (its last lines of output are in the message).
    """
    valgrind = require_valgrind()
    tick = progress or (lambda: None)
    measures: list[int | None] = [None, *range(recipe.target_count)]
    workers = max(1, min(len(measures), jobs or os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="profiler-kit-instructions-") as scratch:

        def one(measure: int | None) -> int:
            total = _run_child(valgrind, recipe, measure, Path(scratch))
            tick()
            return total

        with ThreadPoolExecutor(max_workers=workers) as pool:
            totals = list(pool.map(one, measures))
    base = totals[0]
    return [max(0, total - base) for total in totals[1:]]


def _run_child(valgrind: str, recipe: InstructionRecipe, measure: int | None, scratch: Path) -> int:
    out_file = scratch / f"cachegrind.{'base' if measure is None else measure}.out"
    command = [
        valgrind,
        "--tool=cachegrind",
        "--cache-sim=no",
        "--branch-sim=no",
        f"--cachegrind-out-file={out_file}",
        "--quiet",
        sys.executable,
        "-m",
        "profiler_kit.check.instruction_child",
        recipe.to_json(measure),
    ]
    env = {**os.environ, **DETERMINISTIC_ENV}
    try:
        done = subprocess.run(
            command,
            cwd=recipe.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InstructionsUnavailableError(
            f"counting instructions took longer than {CHILD_TIMEOUT_S:.0f} s"
        ) from None
    except OSError as error:
        raise InstructionsUnavailableError(f"cannot run valgrind: {error}") from None
    if done.returncode != 0:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise InstructionsUnavailableError(
            f"counting instructions failed (exit {done.returncode}): {tail or 'no output'}"
        )
    return _summary(out_file)


def _summary(out_file: Path) -> int:
    """The ``summary:`` line of a cachegrind output file: instructions executed."""
    try:
        lines: Sequence[str] = out_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        raise InstructionsUnavailableError(f"valgrind wrote no count ({error.strerror})") from None
    for line in reversed(lines):
        if line.startswith("summary:"):
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                return int(fields[1])
    raise InstructionsUnavailableError(f"valgrind's output {out_file.name} has no summary line")
