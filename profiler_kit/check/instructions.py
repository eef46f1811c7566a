"""CPU cost as a count: machine instructions of one call, counted by valgrind.

Timings on a shared runner wander by far more than the regressions a check
looks for: on a 2-vCPU VM the median of a 30-sample CPU timing moved by 10 to
18 % between two identical runs a few seconds apart, because the host's other
tenants change how fast the same instructions run. The number of instructions
hardly changes: under valgrind one call of the same code counts the same
instructions whatever the load, to within 0.05 % for a CPU-bound script and
1.2 % for a Flask request between two processes, with the hash seed fixed and
Python's small-object allocator replaced by malloc. (With pymalloc, the heap
left by start-up decides whether a loop's allocations cross a pool boundary
on every step: setting PYTHONIOENCODING alone moved a loop's count by 2 %.)
That is what continuous benchmarking services measure on CI runners for the
same reason.

The targets are counted in one child process run under valgrind's callgrind
tool: it sets every target up and warms it with valgrind's instrumentation
off (start-up, imports and set-up are not counted, and run faster), then
counts three calls of each, switching the counting on and off around each
call with valgrind client requests (:mod:`profiler_kit.check.valgrind_requests`);
the median call is kept. A count does not care how busy the machine is.
Valgrind makes a counted call about 80 times slower, so this is opt-in
(``profiler-kit bench --instructions``).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from profiler_kit.errors import ProfilerKitError

__all__ = [
    "InstructionRecipe",
    "InstructionsUnavailableError",
    "count_instructions",
    "require_valgrind",
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
#: Untimed calls of every target before counting (uninstrumented, so cheap):
#: caches of frameworks fill over the first few calls.
WARMUP_CALLS = 10
#: Counted calls per target; the median is kept. The first counted call of a
#: Flask request was 7 % above the next ones, which agreed to 0.3 %.
COUNTED_CALLS = 3


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

    def to_json(self) -> str:
        return json.dumps(
            {
                "script": self.script,
                "script_args": list(self.script_args),
                "app": self.app,
                "requests": list(self.requests),
                "warmup": WARMUP_CALLS,
                "calls": COUNTED_CALLS,
            }
        )


def require_valgrind() -> str:
    """valgrind's path, on a CPU whose client requests are implemented.

    Raises :class:`InstructionsUnavailableError` saying how to install
    valgrind, or that this CPU is not supported. The bench calls it before
    its timings, so neither is found out only minutes later.
    """
    from profiler_kit.check.valgrind_requests import supported

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise InstructionsUnavailableError(
            "valgrind is not installed: it counts the instructions "
            "(Debian/Ubuntu: apt-get install valgrind; not available on macOS or Windows)"
        )
    if not supported():
        raise InstructionsUnavailableError(
            f"instruction counts are implemented for x86-64 only, not {platform.machine()}"
        )
    return valgrind


def count_instructions(recipe: InstructionRecipe) -> list[int]:
    """Instructions of one call of each target, in the recipe's order.

    Raises :class:`InstructionsUnavailableError` as :func:`require_valgrind`
    does, or when the child fails (its last lines of output are in the message).
    """
    valgrind = require_valgrind()
    with tempfile.TemporaryDirectory(prefix="profiler-kit-instructions-") as scratch:
        out_file = Path(scratch) / "callgrind.out"
        _run_child(valgrind, recipe, out_file)
        counts = _dumped_counts(Path(scratch), out_file.name)
    missing = [index for index in range(recipe.target_count) if not counts.get(index)]
    if missing:
        raise InstructionsUnavailableError(
            f"valgrind wrote no count for target(s) {', '.join(map(str, missing))}"
        )
    return [int(statistics.median_low(counts[index])) for index in range(recipe.target_count)]


def _run_child(valgrind: str, recipe: InstructionRecipe, out_file: Path) -> None:
    command = [
        valgrind,
        "--tool=callgrind",
        "--instr-atstart=no",
        "--collect-atstart=no",
        f"--callgrind-out-file={out_file}",
        "--quiet",
        sys.executable,
        "-m",
        "profiler_kit.check.instruction_child",
        recipe.to_json(),
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


_LABEL = re.compile(r"^desc: Trigger: Client Request: profiler-kit-target-(\d+)-call-\d+\s*$")


def _dumped_counts(directory: Path, stem: str) -> dict[int, list[int]]:
    """Target index -> the ``totals:`` of each dump callgrind wrote for it."""
    counts: dict[int, list[int]] = {}
    for path in sorted(directory.glob(f"{stem}*")):
        index: int | None = None
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            match = _LABEL.match(line)
            if match:
                index = int(match.group(1))
            elif line.startswith("totals:") and index is not None:
                fields = line.split()
                if len(fields) >= 2 and fields[1].isdigit():
                    counts.setdefault(index, []).append(int(fields[1]))
    return counts
