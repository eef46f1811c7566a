"""pytest plugin: performance budgets on tests, and a baseline check of the budgeted tests.

Mark a test with a budget; its call is measured and fails when over::

    @pytest.mark.perf_budget(wall_ms=100, queries=10)
    def test_checkout(client): ...

The marker takes keyword arguments only, each optional:

* ``wall_ms``, ``cpu_ms``: wall-clock and CPU time (the process's, so work of
  worker threads counts) of the test function's call, in milliseconds; with
  ``repeat`` the median of the calls is compared.
* ``memory_mb``: the peak of memory allocated during the call, in MiB
  (2\\ :sup:`20` bytes), and ``allocations``: the number of allocations the
  call made, every Python object included. Both come from memray and are only
  measured when one of them is given.
* ``queries``: SQL statements sent through the Django ORM or SQLAlchemy (the
  largest count of one call).
* ``repeat`` (default 1): call the test function this many times, with the
  same fixture values (as pytest-benchmark does); fixtures are set up once.

Only the test function's call is measured, never fixture setup or teardown.
Before every call a full garbage collection puts the collector in the same
state (outside the timings), so the count of collections during the call
(``gc_collections``, reported, not budgeted) is repeatable. Markers on a class
or module apply to their tests; when several apply, each argument comes from
the closest marker that gives it.

Memory is measured in the same run as the timings, not in a run of its own:
a test may have side effects (rows inserted, files written, a mock's call
count), so its body is never called more often than ``repeat`` says. memray
tracks the first call only: with ``repeat=1`` the timings come from that same
call and so include memray's overhead (several times the plain run for code
that allocates much: give such tests ``repeat=2`` or more, or put time and
memory budgets on two tests); with ``repeat`` above 1 they come from the
other calls, which run without memray. The allocation count includes some 15
to 20 allocations of the measurement itself, the same every time. Python
function calls (the ``calls`` count of ``profiler-kit bench``) are not
counted: cProfile needs the interpreter's profile hook, which memray uses
too, so that would take one more call of the body. Where memray is
unavailable (Windows, or another memray tracker in the process) memory
budgets are not checked, and the summary says so.

Async test functions are measured when pytest-asyncio runs them (it hands
pytest a plain function that runs the coroutine); those that a plugin such as
anyio calls as coroutine functions are listed as not measured.

Over budget, the test fails with every exceeded figure, e.g. ``perf budget
exceeded: wall 123.4 ms > 100 ms; queries 12 > 10``. Measured figures are
added to the test's ``user_properties`` (``perf_wall_ms``, ``perf_cpu_ms``,
``perf_gc_collections``, ``perf_queries``, ``perf_peak_mib``,
``perf_allocations``, ``perf_repeat``; JUnit XML shows them), and the terminal
summary gets a section "profiler-kit perf budgets" with one line per measured
test.

Two options compare the measured tests between runs, through the same baseline
file and comparison as ``profiler-kit baseline save`` and ``profiler-kit
check`` (one target per test node id, kind ``"test"``):

* ``--profiler-kit-save-baseline=FILE`` writes the measured tests' timing
  samples and counts (``gc_collections``, ``queries``, and ``allocations``,
  ``allocated_bytes``, ``peak_bytes`` when memory was measured). Nothing is
  written when no test was measured (a ``-k`` typo must not replace a good
  baseline with an empty one) or the session was interrupted.
* ``--profiler-kit-baseline=FILE`` compares each measured test with the
  baseline's target of the same node id, with the thresholds of
  ``[tool.profiler-kit.check]`` in pyproject.toml; a regression fails the
  session (exit status 1) and the summary shows the comparison table. Tests
  missing from the baseline are only noted, and baseline targets that did not
  run (deselected, failed) are left out. Timings are only tested from 3
  samples on both sides, and can only be significant at the default alpha of
  0.01 from 5 (``repeat=5``, or 6 with a memory budget, whose memray call is
  not timed); counts are compared exactly but for small tolerances. A file that is not a usable
  baseline is a usage error (exit status 4) before any test runs.

Tests without the marker are not touched, and the plugin imports nothing of
profiler-kit until a marked test runs or an option is given. Disable it with
``-p no:profiler_kit``. Under pytest-xdist, the measurements travel to the
controller with the test reports, which writes and checks the baseline.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from profiler_kit.check.baseline import Baseline, BenchTarget
    from profiler_kit.check.config import CheckSettings
    from profiler_kit.check.measure import Timing
    from profiler_kit.check.result import CheckResult

__all__ = ["MARKER", "Budget", "Measurement"]

MARKER = "perf_budget"
_REPORT_ATTRIBUTE = "profiler_kit_perf"
_UNMEASURED_ATTRIBUTE = "profiler_kit_perf_unmeasured"
_ASYNC_REASON = (
    "not measured: an async test function run by a plugin such as anyio "
    "(pytest-asyncio's tests are measured)"
)
_PLUGIN_NAME = "profiler-kit-perf-budgets"
_MIB = 1024 * 1024
_MARKER_HELP = (
    "perf_budget(wall_ms=None, cpu_ms=None, memory_mb=None, allocations=None, queries=None, "
    "repeat=1): fail the test when its call is over budget (profiler-kit); with repeat=N the "
    "test function is called N times and the median time is compared"
)


@dataclass(frozen=True)
class Budget:
    """The limits of one test, from its ``perf_budget`` markers (``None``: not limited)."""

    wall_ms: float | None = None
    cpu_ms: float | None = None
    memory_mb: float | None = None
    allocations: int | None = None
    queries: int | None = None
    repeat: int = 1

    @property
    def measures_memory(self) -> bool:
        return self.memory_mb is not None or self.allocations is not None

    @classmethod
    def of(cls, item: pytest.Item) -> Budget:
        """The budget of ``item``; raises :class:`ValueError` for a malformed marker."""
        values: dict[str, Any] = {}
        known = set(cls.__dataclass_fields__)
        for marker in item.iter_markers(MARKER):  # the closest first
            if marker.args:
                raise ValueError(
                    "perf_budget takes keyword arguments only, e.g. perf_budget(wall_ms=100)"
                )
            for key, value in marker.kwargs.items():
                if key not in known:
                    raise ValueError(
                        f"perf_budget has no argument {key!r} (known: {', '.join(sorted(known))})"
                    )
                values.setdefault(key, value)
        for key in ("wall_ms", "cpu_ms", "memory_mb"):
            value = values.get(key)
            if value is not None and not (
                _is_number(value) and math.isfinite(value) and value >= 0
            ):
                raise ValueError(f"perf_budget {key} must be a number of 0 or more, not {value!r}")
        for key in ("allocations", "queries"):
            value = values.get(key)
            if value is not None and not (_is_integer(value) and value >= 0):
                raise ValueError(
                    f"perf_budget {key} must be a whole number of 0 or more, not {value!r}"
                )
        repeat = values.get("repeat", 1)
        if not (_is_integer(repeat) and repeat >= 1):
            raise ValueError(
                f"perf_budget repeat must be a whole number of 1 or more, not {repeat!r}"
            )
        return cls(**values)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Measurement:
    """What the calls of one test measured: per-call timing samples (seconds) and counts."""

    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    calls: int = 0

    @property
    def wall_ms(self) -> float:
        return _median(self.wall_s) * 1000

    @property
    def cpu_ms(self) -> float:
        return _median(self.cpu_s) * 1000

    @property
    def peak_mib(self) -> float | None:
        peak = self.counts.get("peak_bytes")
        return None if peak is None else peak / _MIB

    def exceeded(self, budget: Budget) -> list[str]:
        """One phrase per figure over its budget, e.g. ``"wall 123.4 ms > 100 ms"``."""
        over = []
        if budget.wall_ms is not None and self.wall_ms > budget.wall_ms:
            over.append(f"wall {_amount(self.wall_ms)} ms > {_number(budget.wall_ms)} ms")
        if budget.cpu_ms is not None and self.cpu_ms > budget.cpu_ms:
            over.append(f"cpu {_amount(self.cpu_ms)} ms > {_number(budget.cpu_ms)} ms")
        peak = self.peak_mib
        if budget.memory_mb is not None and peak is not None and peak > budget.memory_mb:
            over.append(f"memory {_amount(peak)} MiB > {_number(budget.memory_mb)} MiB")
        allocations = self.counts.get("allocations")
        if (
            budget.allocations is not None
            and allocations is not None
            and allocations > budget.allocations
        ):
            over.append(f"allocations {allocations} > {budget.allocations}")
        queries = self.counts.get("queries")
        if budget.queries is not None and queries is not None and queries > budget.queries:
            over.append(f"queries {queries} > {budget.queries}")
        return over

    def properties(self) -> list[tuple[str, object]]:
        """The figures as ``user_properties`` entries."""
        properties: list[tuple[str, object]] = [
            ("perf_wall_ms", round(self.wall_ms, 3)),
            ("perf_cpu_ms", round(self.cpu_ms, 3)),
        ]
        for key in ("gc_collections", "queries", "allocations"):
            if key in self.counts:
                properties.append((f"perf_{key}", self.counts[key]))
        peak = self.peak_mib
        if peak is not None:
            properties.append(("perf_peak_mib", round(peak, 3)))
        properties.append(("perf_repeat", self.calls))
        return properties


def _median(values: list[float]) -> float:
    import statistics  # not at import time: the plugin loads in every pytest run

    return statistics.median(values)


def _number(value: float) -> str:
    """A budget as the user wrote it: ``100``, ``0.5``."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def measure(call: Callable[[], object], budget: Budget) -> tuple[Measurement, object]:
    """Call ``call`` ``budget.repeat`` times, measured; returns the measurement and the last result.

    An exception of a call propagates at once (the test failed; nothing is
    measured); the memray capture is cleaned up first.
    """
    from profiler_kit.check.measure import timed_call

    measurement = Measurement()
    result: list[object] = [None]

    def once() -> None:
        result[0] = call()

    memory_timing = _memory_call(once, measurement) if budget.measures_memory else None
    timings: list[Timing] = []
    for _ in range(budget.repeat - measurement.calls):
        timings.append(timed_call(once))
        measurement.calls += 1
    measured = timings
    if memory_timing is not None:
        measured = [memory_timing, *timings]
        if not timings:  # its timings include memray's overhead: used when it is the only call
            timings = [memory_timing]
    measurement.wall_s = [timing.wall_s for timing in timings]
    measurement.cpu_s = [timing.cpu_s for timing in timings]
    measurement.counts["gc_collections"] = max(timing.gc_collections for timing in measured)
    measurement.counts["queries"] = max(timing.queries for timing in measured)
    return measurement, result[0]


def _memory_call(once: Callable[[], None], measurement: Measurement) -> Timing | None:
    """One call under memray (``count_memory``), also timed and counted like ``timed_call``.

    Not ``count_memory(lambda: timed_call(once))``: the query counter would
    start inside memray's tracking, and SQLAlchemy's event registration alone
    adds some 200 allocations, present or not depending on which test modules
    imported SQLAlchemy. So queries are counted around memray, and inside it
    only the garbage collector's callback and the clocks run (count_memory
    has already collected). ``None`` when memray could not start (the call
    was not made).
    """
    from profiler_kit.check.measure import clock, count_memory, query_counter
    from profiler_kit.errors import MemoryUnavailableError

    outcome: dict[str, Any] = {}

    def tracked() -> None:
        try:
            with clock() as timing:
                once()
            outcome["timing"] = timing
        except BaseException as error:  # re-raised after count_memory has cleaned up
            outcome["error"] = error

    with query_counter() as queries:
        try:
            measurement.counts.update(count_memory(tracked))
        except MemoryUnavailableError as error:
            measurement.notes.append(f"memory not measured: {error}")
    failure = outcome.pop("error", None)
    if failure is not None:
        raise failure
    if "timing" not in outcome:
        return None
    measurement.calls += 1
    timing: Timing = outcome["timing"]
    timing.queries = queries.count
    return timing


@dataclass
class _Measured:
    """One measured test as the controller sees it (from its call report)."""

    nodeid: str
    budget: Budget
    measurement: Measurement
    over: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "budget": asdict(self.budget),
            "measurement": asdict(self.measurement),
            "over": self.over,
        }

    @classmethod
    def from_json(cls, nodeid: str, data: dict[str, Any]) -> _Measured:
        return cls(
            nodeid=nodeid,
            budget=Budget(**data["budget"]),
            measurement=Measurement(**data["measurement"]),
            over=list(data["over"]),
        )

    def target(self) -> BenchTarget:
        from profiler_kit.check.baseline import BenchTarget

        return BenchTarget(
            name=self.nodeid,
            kind="test",
            wall_s=list(self.measurement.wall_s),
            cpu_s=list(self.measurement.cpu_s),
            counts=dict(self.measurement.counts),
        )

    def line(self) -> str:
        budget, measurement = self.budget, self.measurement
        counts = measurement.counts
        figures = [
            _figure("wall", measurement.wall_ms, budget.wall_ms, " ms"),
            _figure("cpu", measurement.cpu_ms, budget.cpu_ms, " ms"),
        ]
        peak = measurement.peak_mib
        if peak is not None:
            figures.append(_figure("memory", peak, budget.memory_mb, " MiB"))
        elif budget.memory_mb is not None:
            figures.append(f"memory not measured (budget {_number(budget.memory_mb)} MiB)")
        if "allocations" in counts:
            figures.append(_figure("allocations", counts["allocations"], budget.allocations, ""))
        elif budget.allocations is not None:
            figures.append(f"allocations not measured (budget {budget.allocations})")
        figures.append(_figure("queries", counts.get("queries", 0), budget.queries, ""))
        figures.append(f"gc {counts.get('gc_collections', 0)}")
        samples = len(measurement.wall_s)
        if samples > 1:
            figures.append(f"median of {samples} calls")
        status = "OVER" if self.over else "ok"
        return f"{status:<4} {self.nodeid}: {', '.join(figures)}"


def _amount(value: float) -> str:
    """A measured time or size: one decimal, three below 1 (``0.042 ms``)."""
    return f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def _figure(name: str, value: float, budget: float | None, unit: str) -> str:
    shown = _amount(value) if isinstance(value, float) else str(value)
    if budget is None:
        return f"{name} {shown}{unit}"
    sign = ">" if value > budget else "<="
    return f"{name} {shown}{unit} {sign} {_number(budget)}{unit}"


class PerfBudgets:
    """The plugin's state for one pytest session (registered by :func:`pytest_configure`)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.worker = hasattr(config, "workerinput")  # pytest-xdist worker
        self.measured: dict[str, _Measured] = {}
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
            from profiler_kit.check.baseline import BaselineError, load_baseline
            from profiler_kit.check.config import load_check_settings
            from profiler_kit.errors import ProfilerKitError

            self.baseline_path = here / baseline_option
            try:
                self.baseline = load_baseline(self.baseline_path)
            except BaselineError as error:
                raise pytest.UsageError(f"--profiler-kit-baseline: {error}") from None
            try:
                self.settings = load_check_settings({}, start_dir=config.rootpath)
            except ProfilerKitError as error:
                raise pytest.UsageError(str(error)) from None
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
            self.measured[report.nodeid] = _Measured.from_json(report.nodeid, data)
        reason = getattr(report, _UNMEASURED_ATTRIBUTE, None)
        if report.when == "call" and isinstance(reason, str):
            self.unmeasured[report.nodeid] = reason

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.worker:
            return
        failed = False
        if self.save_path is not None and session.exitstatus != pytest.ExitCode.INTERRUPTED:
            failed |= not self._save()
        if self.baseline is not None:
            failed |= not self._check()
        if failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _targets(self) -> dict[str, BenchTarget]:
        return {nodeid: measured.target() for nodeid, measured in self.measured.items()}

    def _save(self) -> bool:
        from profiler_kit.check.baseline import save_baseline
        from profiler_kit.errors import ProfilerKitError
        from profiler_kit.store.ids import new_capture_id

        assert self.save_path is not None
        if not self.measured:
            # An empty file would replace a good baseline after a typo in -k or a --collect-only.
            self.messages.append(f"no test was measured: {self.save_path} not written")
            return True
        try:
            save_baseline(self.save_path, new_capture_id(), self._targets())
        except ProfilerKitError as error:
            self.messages.append(f"baseline not written: {error}")
            return False
        count = len(self.measured)
        self.messages.append(
            f"baseline of {count} measured test{'' if count == 1 else 's'} "
            f"written to {self.save_path}"
        )
        return True

    def _check(self) -> bool:
        from profiler_kit.check.compare import compare_runs

        assert self.baseline is not None and self.settings is not None
        current = self._targets()
        # Baseline targets that did not run this time (deselected, failed) are not compared.
        before = {name: t for name, t in self.baseline.targets.items() if name in current}
        self.check_result = compare_runs(before, current, self.settings)
        return self.check_result.passed

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.worker:
            return
        if self.measured or self.unmeasured:
            terminalreporter.section("profiler-kit perf budgets")
            for measured in self.measured.values():
                over = bool(measured.over)
                terminalreporter.line(measured.line(), red=over, green=not over)
                for note in measured.measurement.notes:
                    terminalreporter.line(f"     note: {note}")
            for nodeid, reason in self.unmeasured.items():
                terminalreporter.line(f"n/a  {nodeid}: {reason}", yellow=True)
        result = self.check_result
        if result is not None:
            from profiler_kit.check.report_formats import render_text

            terminalreporter.section(
                f"profiler-kit baseline check against {self.baseline_path}",
                red=not result.passed,
                green=result.passed,
            )
            text = render_text(result).rstrip("\n")
            if result.passed and terminalreporter.verbosity <= 0:
                text = text.splitlines()[-1]  # the verdict line; -v shows the table
            for line in text.splitlines():
                terminalreporter.line(line)
        for message in self.messages:
            terminalreporter.line(f"profiler-kit: {message}")


_MEASURED = pytest.StashKey[_Measured]()
_UNMEASURED = pytest.StashKey[str]()


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
        item.stash[_MEASURED] = _Measured(item.nodeid, budget, measurement, over)
        item.user_properties.extend(measurement.properties())
        if over:
            pytest.fail(f"perf budget exceeded: {'; '.join(over)}", pytrace=False)
        return result

    return run


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
    config.addinivalue_line("markers", _MARKER_HELP)
    config.pluginmanager.register(PerfBudgets(config), _PLUGIN_NAME)
