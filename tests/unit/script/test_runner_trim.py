"""Which outer frames of a ``profiler-kit run`` sample are the runner's own.

Every stack of a script run must start at the script's ``<module>``: the
runner's frames are trimmed, and samples of the runner's own work (starting
and stopping the profilers, flushing stdout after the script returned) are
dropped rather than shown as roots of their own.
"""

from __future__ import annotations

import runpy

import pytest

from profiler_kit.script import runner

RUNNER = runner.__file__
SCRIPT = "/app/job.py"


def _identifier(function: str, filename: str) -> str:
    return f"{function}\x00{filename}\x001"


def _depths(stack: list[tuple[str, str]]) -> tuple[int, int]:
    """Both forms of the rule: (function, file) pairs and pyinstrument identifiers."""
    identifiers = [_identifier(function, filename) for function, filename in stack]
    return runner.machinery_depth(stack), runner.identifier_depth(identifiers)


def test_a_script_stack_starts_at_its_module() -> None:
    stack = [
        ("main", RUNNER),
        ("_enter_target", RUNNER),
        ("_run_script", RUNNER),
        ("<module>", SCRIPT),
        ("work", SCRIPT),
    ]
    assert _depths(stack) == (3, 3)


def test_a_module_run_skips_runpy() -> None:
    stack = [
        ("_enter_target", RUNNER),
        ("run_module", runpy.__file__),
        ("_run_code", runpy.__file__),
        ("<module>", "/app/pkg/__main__.py"),
    ]
    assert _depths(stack) == (3, 3)


@pytest.mark.parametrize("builtin", ["TextIOWrapper.flush", "compile", "open_code"])
def test_a_builtin_the_runner_calls_is_dropped(builtin: str) -> None:
    """stdout flushed after the script returned is not a root frame of the script's profile."""
    stack = [("_enter_target", RUNNER), (builtin, "<built-in>")]
    assert _depths(stack) == (-1, -1)
    under_run_script = [("_enter_target", RUNNER), ("_run_script", RUNNER), (builtin, "<built-in>")]
    assert _depths(under_run_script) == (-1, -1)


def test_a_builtin_the_script_calls_is_kept() -> None:
    stack = [
        ("_enter_target", RUNNER),
        ("_run_script", RUNNER),
        ("<module>", SCRIPT),
        ("sum", "<built-in>"),
    ]
    assert _depths(stack) == (2, 2)


@pytest.mark.parametrize("module", ["profiler_kit.cli.run", "profiler_kit.capture.cpu"])
def test_own_work_in_any_package_module_is_dropped(module: str) -> None:
    """profiler-kit's own work outside the target is dropped, whichever module it runs in."""
    import importlib

    own_file = importlib.import_module(module).__file__
    assert own_file is not None
    stack = [("main", own_file), ("stop", own_file)]
    assert _depths(stack) == (-1, -1)
