"""The plugin's per-session hooks: measure marked tests, collect their figures, save and check.

Measurements are attached to the call reports rather than kept in this
process, because under pytest-xdist the tests run in workers while the
controller, which sees every report, writes and checks the baseline.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from profiler_kit.pytest_plugin.budget import MARKER, Budget
from profiler_kit.pytest_plugin.measure import measure
from profiler_kit.pytest_plugin.records import (
    MeasuredTest,
    compare_with_baseline,
    open_baseline,
    save_measured,
)
from profiler_kit.pytest_plugin.summary import write_budgets, write_check

if TYPE_CHECKING:
    from profiler_kit.check.baseline import Baseline
    from profiler_kit.check.config import CheckSettings
    from profiler_kit.check.result import CheckResult

__all__ = ["PLUGIN_NAME", "PerfBudgets"]

PLUGIN_NAME = "profiler-kit-perf-budgets"
_REPORT_ATTRIBUTE = "profiler_kit_perf"
_UNMEASURED_ATTRIBUTE = "profiler_kit_perf_unmeasured"
_ASYNC_REASON = (
    "not measured: an async test function run by a plugin such as anyio "
    "(pytest-asyncio's tests are measured)"
)
_MEASURED = pytest.StashKey[MeasuredTest]()
_UNMEASURED = pytest.StashKey[str]()


class PerfBudgets:
    """The plugin's state for one pytest session (registered by ``pytest_configure``)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.worker = hasattr(config, "workerinput")  # pytest-xdist worker
        self.measured: dict[str, MeasuredTest] = {}
        self.unmeasured: dict[str, str] = {}
        self.baseline: Baseline | None = None
        self.baseline_path: Path | None = None
        self.settings: CheckSettings | None = None
        self.save_path: Path | None = None
        self.check_result: CheckResult | None = None
        self.messages: list[str] = []
        here = config.invocation_params.dir
        baseline_option = config.getoption("profiler_kit_baseline")
        save_option = config.getoption("profiler_kit_save_baseline")
        if baseline_option and not self.worker:
            self.baseline_path = here / baseline_option
            self.baseline, self.settings = open_baseline(self.baseline_path, config.rootpath)
        if save_option and not self.worker:
            self.save_path = here / save_option
            if not self.save_path.parent.is_dir():
                raise pytest.UsageError(
                    f"--profiler-kit-save-baseline: the directory {self.save_path.parent} "
                    "does not exist"
                )

    @pytest.hookimpl(hookwrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Generator[None, Any, None]:
        if pyfuncitem.get_closest_marker(MARKER) is None:
            yield
            return
        original = pyfuncitem.obj
        if inspect.iscoroutinefunction(original) or inspect.isasyncgenfunction(original):
            # A plugin (anyio) runs the coroutine function itself, or none does and
            # pytest fails the test as unsupported: either way, not measurable here.
            pyfuncitem.stash[_UNMEASURED] = _ASYNC_REASON
            pyfuncitem.user_properties.append(("perf_not_measured", _ASYNC_REASON))
            yield
            return
        pyfuncitem.obj = _measured_call(pyfuncitem, original)
        try:
            yield
        finally:
            pyfuncitem.obj = original

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        if call.when != "call":
            return
        # Report attributes travel to the pytest-xdist controller with the report.
        measured = item.stash.get(_MEASURED, None)
        if measured is not None:
            del item.stash[_MEASURED]
            setattr(outcome.get_result(), _REPORT_ATTRIBUTE, measured.to_json())
        unmeasured = item.stash.get(_UNMEASURED, None)
        if unmeasured is not None:
            del item.stash[_UNMEASURED]
            setattr(outcome.get_result(), _UNMEASURED_ATTRIBUTE, unmeasured)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, _REPORT_ATTRIBUTE, None)
        if report.when == "call" and isinstance(data, dict):
            self.measured[report.nodeid] = MeasuredTest.from_json(report.nodeid, data)
        reason = getattr(report, _UNMEASURED_ATTRIBUTE, None)
        if report.when == "call" and isinstance(reason, str):
            self.unmeasured[report.nodeid] = reason

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.worker:
            return
        failed = False
        if self.save_path is not None and session.exitstatus != pytest.ExitCode.INTERRUPTED:
            saved, message = save_measured(self.save_path, self.measured)
            self.messages.append(message)
            failed |= not saved
        if self.baseline is not None:
            assert self.settings is not None
            self.check_result = compare_with_baseline(self.baseline, self.measured, self.settings)
            failed |= not self.check_result.passed
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.worker:
            return
        write_budgets(terminalreporter, self.measured, self.unmeasured)
        if self.check_result is not None:
            write_check(terminalreporter, self.check_result, self.baseline_path)
        for message in self.messages:
            terminalreporter.line(f"profiler-kit: {message}")


def _measured_call(item: pytest.Function, original: Callable[..., object]) -> Callable[..., object]:
    """``original`` measured under the item's budget; over budget, the test fails."""

    def run(*args: Any, **kwargs: Any) -> object:
        try:
            budget: Budget | None = Budget.of(item)
            problem = ""
        except ValueError as error:
            budget, problem = None, str(error)
        if budget is None:  # failed outside the except block: no chained traceback
            pytest.fail(f"invalid perf_budget marker: {problem}", pytrace=False)
        measurement, result = measure(lambda: original(*args, **kwargs), budget)
        over = measurement.exceeded(budget)
        item.stash[_MEASURED] = MeasuredTest(item.nodeid, budget, measurement, over)
        item.user_properties.extend(measurement.properties())
        if over:
            pytest.fail(f"perf budget exceeded: {'; '.join(over)}", pytrace=False)
        return result

    return run
