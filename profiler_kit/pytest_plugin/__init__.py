"""pytest plugin: performance budgets on tests (``@pytest.mark.perf_budget``) and a baseline check.

The user manual is ``docs/pytest-plugin.md``. This module is the ``pytest11``
entry point, so it holds only the hooks pytest looks for here. It loads in
every pytest run, so the plugin imports nothing of profiler-kit outside this
package until a marked test runs or an option is given.
"""

from __future__ import annotations

import pytest

from profiler_kit.pytest_plugin.budget import MARKER_HELP
from profiler_kit.pytest_plugin.hooks import PLUGIN_NAME, PerfBudgets

__all__ = ["pytest_addoption", "pytest_configure"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("profiler-kit", "profiler-kit performance budgets")
    group.addoption(
        "--profiler-kit-baseline",
        metavar="FILE",
        default=None,
        help="compare the tests measured by @pytest.mark.perf_budget with this baseline "
        "(written by --profiler-kit-save-baseline or `profiler-kit baseline save`); "
        "a regression fails the session",
    )
    group.addoption(
        "--profiler-kit-save-baseline",
        metavar="FILE",
        default=None,
        help="write the timings and counts of the tests measured by "
        "@pytest.mark.perf_budget to this baseline file",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.pluginmanager.register(PerfBudgets(config), PLUGIN_NAME)
