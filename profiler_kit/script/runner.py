"""Run a script or module exactly as ``python`` would, under the profilers.

The target sees the same ``sys.argv``, ``__name__``, ``sys.path[0]``, stdin
and stdout as under the interpreter; its exit status and uncaught exceptions
come out the same way. Profiling never changes what the program does: the
engines start just before the target's first line and stop just after its
last, and frames of the runner are trimmed from every stack.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import io
import os
import runpy
import sys
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyinstrument.session import Session

from profiler_kit import PACKAGE_DIR
from profiler_kit.capture.cpu import CpuEngine, PyinstrumentEngine, ThreadSampler
from profiler_kit.capture.memory import MemoryTracker
from profiler_kit.errors import TargetError

__all__ = ["Target", "RunResult", "run_target", "machinery_depth", "identifier_depth"]

_THIS_FILE = __file__
_RUNPY_FILES = (runpy.__file__, "<frozen runpy>")
_ENTRY_NAME = "_enter_target"
_BUILTIN_FILE = "<built-in>"  # where pyinstrument files C functions
_CONSOLE_SCRIPT = os.sep + "profiler-kit"


@dataclass(frozen=True)
class Target:
    """What to run: a script path or a module name, and its arguments."""

    script: str | None = None
    module: str | None = None
    args: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        head = f"-m {self.module}" if self.module else str(self.script)
        return " ".join((head, *self.args))

    @property
    def name(self) -> str:
        if self.module:
            return self.module
        return Path(str(self.script)).name

    def check(self) -> None:
        """Fail early, with a message, on a target that cannot start."""
        if self.module:
            return  # a missing module is reported by runpy once argv is set
        path = Path(str(self.script))
        if not path.exists():
            raise TargetError(f"can't open file {str(self.script)!r}: no such file")
        if path.is_dir():
            raise TargetError(
                f"{str(self.script)!r} is a directory: give a .py file, "
                "or use -m to run a package's __main__ module"
            )
        if not os.access(path, os.R_OK):
            raise TargetError(f"can't open file {str(self.script)!r}: permission denied")


@dataclass
class RunResult:
    exit_code: int
    session: Session
    started_at: float
    wall_s: float
    cpu_s: float
    memory_file: Path | None
    in_child: bool
    forks: int
    interrupted: bool
    notes: list[str] = field(default_factory=list)


class _ForkWatch:
    """Counts forks of this process and knows whether we are in a child."""

    def __init__(self) -> None:
        self.parent_pid = os.getpid()
        self.forks = 0
        os.register_at_fork(after_in_parent=self._parent)

    def _parent(self) -> None:
        self.forks += 1

    @property
    def in_child(self) -> bool:
        return os.getpid() != self.parent_pid


def run_target(target: Target, *, interval: float = 0.001, memory: bool = False) -> RunResult:
    """Run ``target`` under the CPU engine (and memray with ``memory``).

    Uncaught exceptions are printed through ``sys.excepthook`` as Python would,
    and turned into the exit code Python would give.
    """
    target.check()
    watch = _ForkWatch()
    tracker = MemoryTracker() if memory else None
    engine: CpuEngine = ThreadSampler(interval) if memory else PyinstrumentEngine(interval)

    saved_argv, saved_path0 = sys.argv[:], sys.path[0] if sys.path else None
    sys.argv = [target.script or target.module or "", *target.args]
    _set_path0(target)

    started_at = time.time()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if tracker is not None:
        tracker.start()  # memray first: it must own the profile hook
    engine.start()
    try:
        exit_code, interrupted = _enter_target(target)
    finally:
        session = engine.stop()
        if tracker is not None and not watch.in_child:
            tracker.stop()
        wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
        sys.argv = saved_argv
        if saved_path0 is not None:
            sys.path[0] = saved_path0
    return RunResult(
        exit_code=exit_code,
        session=session,
        started_at=started_at,
        wall_s=wall_s,
        cpu_s=cpu_s,
        memory_file=tracker.path if tracker is not None else None,
        in_child=watch.in_child,
        forks=watch.forks,
        interrupted=interrupted,
    )


def _set_path0(target: Target) -> None:
    # Python puts the script's real directory first, or the working directory for -m.
    script = Path(str(target.script))
    entry = str(Path.cwd()) if target.module else str(script.resolve().parent)
    if sys.path:
        sys.path[0] = entry
    else:
        sys.path.insert(0, entry)


def _enter_target(target: Target) -> tuple[int, bool]:
    """Run the target; the profilers' stacks are trimmed above this frame."""
    try:
        if target.module:
            runpy.run_module(target.module, run_name="__main__", alter_sys=True)
        else:
            _run_script(str(target.script))
    except SystemExit as error:
        return _exit_status(error.code), False
    except KeyboardInterrupt as error:
        _report_exception(error)
        return 130, True
    except ImportError as error:
        if target.module and _raised_by_runpy(error):
            # The module itself was not found: say it the way `python -m` does.
            sys.stderr.write(f"{sys.executable}: {error}\n")
            return 1, False
        _report_exception(error)
        return 1, False
    except BaseException as error:
        _report_exception(error)
        return 1, False
    finally:
        sys.stdout.flush() if not sys.stdout.closed else None
    return 0, False


def _run_script(script: str) -> None:
    """Execute a script file as ``__main__``, the way the interpreter does.

    Not ``runpy.run_path``: it rewrites ``sys.argv[0]``, which Python leaves as
    typed, while ``__file__`` is absolute.
    """
    path = os.path.abspath(script)
    with io.open_code(path) as file:
        source = file.read()
    code = compile(source, path, "exec")
    module = types.ModuleType("__main__")
    module.__dict__.update(
        __file__=path,
        __builtins__=builtins,
        __loader__=importlib.machinery.SourceFileLoader("__main__", path),
        __spec__=None,
        __cached__=None,
        __package__=None,
    )
    saved_main = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)  # noqa: S102 - running the user's own script is the point
    finally:
        if saved_main is not None:
            sys.modules["__main__"] = saved_main


def _raised_by_runpy(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback is not None and traceback.tb_frame.f_code.co_filename in _RUNPY_FILES


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code % 256
    sys.stderr.write(f"{code}\n")
    return 1


def _report_exception(error: BaseException) -> None:
    traceback = error.__traceback__
    while traceback is not None and _is_machinery_file(traceback.tb_frame.f_code.co_filename):
        traceback = traceback.tb_next
    sys.excepthook(type(error), error.with_traceback(traceback), traceback)


def _is_machinery_file(filename: str) -> bool:
    return filename == _THIS_FILE or filename in _RUNPY_FILES


def machinery_depth(stack: Sequence[tuple[str, str]]) -> int:
    """How many outer frames of a root-first ``(function, file)`` stack are ours.

    Returns -1 for profiler-kit's own work outside the target (starting or
    stopping the profilers), which callers drop. Stacks of threads the target
    started never pass through the runner and are kept whole.
    """
    depth = -1
    for index, (function, filename) in enumerate(stack):
        if function == _ENTRY_NAME and filename == _THIS_FILE:
            depth = index + 1
            break
    if depth < 0:
        return -1 if any(_is_own_file(filename) for _, filename in stack) else 0
    while depth < len(stack) and _is_machinery_file(stack[depth][1]):
        depth += 1
    return _drop_if_own_call(stack[depth][1] if depth < len(stack) else None, depth)


def _drop_if_own_call(first_file: str | None, depth: int) -> int:
    """``depth``, or -1 when what is left is a built-in called by the runner itself.

    The target's code always begins with a Python frame (its ``<module>``); a
    built-in right below the runner's frames is the runner's own work, such as
    flushing stdout after the target returned (sampled as a root frame of its
    own on 3.13).
    """
    return -1 if first_file == _BUILTIN_FILE else depth


def _is_own_file(filename: str) -> bool:
    return filename.startswith(PACKAGE_DIR) or filename.endswith(_CONSOLE_SCRIPT)


def identifier_depth(call_stack: Sequence[str]) -> int:
    """:func:`machinery_depth` for pyinstrument frame strings (runs once per sample)."""
    marker = f"{_ENTRY_NAME}\x00{_THIS_FILE}\x00"
    for index, identifier in enumerate(call_stack):
        if identifier.startswith(marker):
            depth = index + 1
            break
    else:
        return machinery_depth([_function_and_file(i) for i in call_stack])
    while depth < len(call_stack) and _is_machinery_file(call_stack[depth].split("\x00", 2)[1]):
        depth += 1
    first = call_stack[depth].split("\x00", 2)[1] if depth < len(call_stack) else None
    return _drop_if_own_call(first, depth)


def _function_and_file(identifier: str) -> tuple[str, str]:
    function, _, rest = identifier.partition("\x00")
    return function, rest.partition("\x00")[0]
