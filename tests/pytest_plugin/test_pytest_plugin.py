"""``@pytest.mark.perf_budget`` and the ``--profiler-kit-*baseline`` options, in real sessions.

Every inner session is a subprocess (``runpytest_subprocess``), so the plugin
is loaded through its ``pytest11`` entry point as users get it, and memray
tracks a clean process. Assertions on the baseline check use counts
(allocations, queries), which do not depend on the machine's speed; timings
are only asserted with wide margins.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from profiler_kit.check.baseline import load_baseline

BUDGETS = """
import time

import pytest


@pytest.mark.perf_budget(wall_ms=60_000, cpu_ms=60_000, queries=5)
def test_within_budget():
    sum(range(1000))


@pytest.mark.perf_budget(wall_ms=10)
def test_slow_wall():
    time.sleep(0.1)


@pytest.mark.perf_budget(cpu_ms=10)
def test_busy_cpu():
    end = time.process_time() + 0.1
    while time.process_time() < end:
        pass


@pytest.mark.perf_budget(memory_mb=5)
def test_big_buffer():
    buffer = bytearray(20 * 1024 * 1024)
    assert len(buffer) == 20 * 1024 * 1024


@pytest.mark.perf_budget(allocations=1000)
def test_many_objects():
    objects = [object() for _ in range(20_000)]
    assert len(objects) == 20_000


def test_unmarked():
    time.sleep(0.05)
"""

QUERIES = """
import pytest
import sqlalchemy as sa


@pytest.fixture
def connection():
    engine = sa.create_engine("sqlite://")
    with engine.connect() as connection:
        connection.execute(sa.text("select 1"))  # connecting queries happen here
        yield connection
    engine.dispose()


@pytest.mark.perf_budget(queries=10)
def test_twelve_queries(connection):
    for _ in range(12):
        connection.execute(sa.text("select 1"))


@pytest.mark.perf_budget(queries=12)
def test_twelve_queries_allowed(connection):
    for _ in range(12):
        connection.execute(sa.text("select 1"))


@pytest.mark.perf_budget(wall_ms=20, queries=10)
def test_slow_and_chatty(connection):
    import time

    time.sleep(0.1)
    for _ in range(12):
        connection.execute(sa.text("select 1"))


@pytest.mark.perf_budget(queries=10)
class TestInherited:
    @pytest.mark.perf_budget(wall_ms=60_000)
    def test_class_budget_applies(self, connection):
        for _ in range(11):
            connection.execute(sa.text("select 1"))
"""

# Allocations and queries are switched by environment variables between the
# run that saves the baseline and the run that checks it.
REGRESSION = """
import os

import pytest
import sqlalchemy as sa

OBJECTS = int(os.environ.get("PK_OBJECTS", "2000"))
QUERIES = int(os.environ.get("PK_QUERIES", "3"))


@pytest.fixture
def connection():
    engine = sa.create_engine("sqlite://")
    with engine.connect() as connection:
        connection.execute(sa.text("select 1"))
        yield connection
    engine.dispose()


@pytest.mark.perf_budget(allocations=10**9, repeat=3)
def test_allocating():
    objects = [object() for _ in range(OBJECTS)]
    assert len(objects) == OBJECTS


@pytest.mark.perf_budget(queries=1000, repeat=3)
def test_querying(connection):
    for _ in range(QUERIES):
        connection.execute(sa.text("select 1"))
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # -W error: the plugin must not warn (pytest deprecations included).
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error", *args)


def test_budgets_pass_within_and_fail_over_each_limit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_budgets=BUDGETS)
    result = run(pytester, "-rA")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 2 and outcomes.get("failed") == 4, result.stdout.str()
    lines = result.stdout.lines
    # The full messages head the failure sections (the short summary truncates them).
    text = "\n".join(lines)
    wall = re.search(r"^perf budget exceeded: wall (\d+\.\d) ms > 10 ms$", text, re.M)
    assert wall is not None and 90 <= float(wall.group(1)) < 5000
    cpu = re.search(r"^perf budget exceeded: cpu (\d+\.\d) ms > 10 ms$", text, re.M)
    assert cpu is not None and 90 <= float(cpu.group(1)) < 5000
    memory = re.search(r"^perf budget exceeded: memory (\d+\.\d) MiB > 5 MiB$", text, re.M)
    assert memory is not None and 20 <= float(memory.group(1)) < 25
    allocations = re.search(r"^perf budget exceeded: allocations (\d+) > 1000$", text, re.M)
    assert allocations is not None and 20_000 <= int(allocations.group(1)) < 100_000
    assert "PASSED test_budgets.py::test_within_budget" in text
    assert "PASSED test_budgets.py::test_unmarked" in text
    # The summary section lists every measured test, and only those.
    section = text[text.index("profiler-kit perf budgets") :]
    assert re.search(
        r"^ok   test_budgets.py::test_within_budget: wall \S+ ms <= 60000 ms, "
        r"cpu \S+ ms <= 60000 ms, queries 0 <= 5, gc \d+$",
        section,
        re.M,
    )
    assert re.search(
        r"^OVER test_budgets.py::test_slow_wall: wall \d+\.\d ms > 10 ms", section, re.M
    )
    assert re.search(
        r"^OVER test_budgets.py::test_big_buffer: .*memory \d+\.\d MiB > 5 MiB", section, re.M
    )
    assert "test_unmarked" not in section.split("short test summary")[0]


def test_queries_budget_and_combined_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_queries=QUERIES)
    result = run(pytester)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1 and outcomes.get("failed") == 3, result.stdout.str()
    text = result.stdout.str()
    assert "\nperf budget exceeded: queries 12 > 10\n" in text
    # Every exceeded figure in one message, in the documented form.
    assert re.search(
        r"^perf budget exceeded: wall \d+\.\d ms > 20 ms; queries 12 > 10$", text, re.M
    )
    # The class's queries budget applies under the method's wall budget.
    assert "\nperf budget exceeded: queries 11 > 10\n" in text
    assert re.search(
        r"^ok   test_queries.py::test_twelve_queries_allowed: .*queries 12 <= 12", text, re.M
    )


def test_unmarked_tests_are_untouched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import pytest

        calls = []

        @pytest.fixture
        def value():
            return object()

        def test_one(value, record_property):
            calls.append(value)
            record_property("mine", 1)

        def test_fails():
            assert 1 == 2

        def test_count():
            assert len(calls) == 1

        async def test_async_unmarked():
            pass
        """
    )
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--junitxml={xml}")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 2 and outcomes.get("failed") == 2, result.stdout.str()
    text = result.stdout.str()
    assert "assert 1 == 2" in text
    assert "profiler-kit perf budgets" not in text
    properties = [p.get("name") for p in ET.parse(xml).getroot().iter("property")]
    assert properties == ["mine"]


def test_async_tests_run_by_anyio_are_noted_as_not_measured(pytester: pytest.Pytester) -> None:
    pytest.importorskip("anyio")
    pytester.makepyfile(
        test_async="""
        import asyncio

        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        @pytest.mark.perf_budget(wall_ms=0)
        async def test_anyio():
            await asyncio.sleep(0.01)
        """
    )
    result = run(pytester)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["n/a  test_async.py::test_anyio: not measured: an async test function run by *"]
    )


def test_repeat_calls_the_body_with_the_same_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_repeat="""
        import pytest

        seen = []

        @pytest.fixture
        def token():
            return object()

        @pytest.mark.perf_budget(wall_ms=60_000, repeat=5)
        def test_repeated(token):
            seen.append(token)

        @pytest.mark.perf_budget(allocations=10**9, repeat=3)
        def test_repeated_with_memory(token):
            seen.append(token)

        def test_afterwards():
            assert len(seen) == 8
            assert len(set(map(id, seen[:5]))) == 1
            assert len(set(map(id, seen[5:]))) == 1
        """
    )
    xml = pytester.path / "junit.xml"
    result = run(pytester, f"--junitxml={xml}")
    assert result.ret == 0, result.stdout.str()
    text = result.stdout.str()
    assert re.search(r"^ok   test_repeat.py::test_repeated: .*, median of 5 calls$", text, re.M)
    # Under memray the first call only counts; the timings come from the other two.
    assert re.search(
        r"^ok   test_repeat.py::test_repeated_with_memory: .*median of 2 calls$", text, re.M
    )
    cases = {case.get("name"): case for case in ET.parse(xml).getroot().iter("testcase")}
    properties = {
        p.get("name"): p.get("value") for p in cases["test_repeated_with_memory"].iter("property")
    }
    assert properties["perf_repeat"] == "3"
    assert float(properties["perf_wall_ms"]) >= 0
    assert int(properties["perf_allocations"]) > 0
    assert float(properties["perf_peak_mib"]) >= 0
    assert properties["perf_queries"] == "0"
    assert not list(cases["test_afterwards"].iter("property"))


def test_invalid_markers_fail_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_invalid="""
        import pytest

        @pytest.mark.perf_budget(100)
        def test_positional():
            pass

        @pytest.mark.perf_budget(wal_ms=100)
        def test_misspelt():
            pass

        @pytest.mark.perf_budget(queries=-1)
        def test_negative():
            pass

        @pytest.mark.perf_budget(repeat=0)
        def test_no_repeat():
            pass
        """
    )
    result = run(pytester)
    assert result.parseoutcomes().get("failed") == 4, result.stdout.str()
    text = result.stdout.str()
    assert "invalid perf_budget marker: perf_budget takes keyword arguments only" in text
    assert "invalid perf_budget marker: perf_budget has no argument 'wal_ms'" in text
    assert "perf_budget queries must be a whole number of 0 or more, not -1" in text
    assert "perf_budget repeat must be a whole number of 1 or more, not 0" in text
    assert "During handling" not in text


def test_a_failing_body_fails_normally_and_leaves_no_memray_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = pytester.mkdir("tmp")
    monkeypatch.setenv("TMPDIR", str(temp))
    pytester.makepyfile(
        test_failing="""
        import pytest

        @pytest.mark.perf_budget(memory_mb=100, repeat=2)
        def test_broken():
            assert "actual" == "expected"

        @pytest.mark.perf_budget(wall_ms=1000, repeat=3)
        def test_broken_later():
            raise RuntimeError("boom")
        """
    )
    result = run(pytester)
    assert result.parseoutcomes().get("failed") == 2, result.stdout.str()
    text = result.stdout.str()
    assert "AssertionError: assert 'actual' == 'expected'" in text
    assert "RuntimeError: boom" in text
    assert "perf budget exceeded" not in text
    assert "profiler-kit perf budgets" not in text  # nothing measured
    assert not list(temp.glob("profiler-kit-memray-*"))


def test_without_memray_memory_budgets_are_noted_not_checked(pytester: pytest.Pytester) -> None:
    # Holding profiler-kit's memray lease is what another memory capture does.
    pytester.makeconftest(
        """
        from profiler_kit.capture.memory import memray_lock

        memray_lock.acquire()
        """
    )
    pytester.makepyfile(
        test_busy="""
        import pytest

        calls = []

        @pytest.mark.perf_budget(memory_mb=1, allocations=10)
        def test_big():
            calls.append(bytearray(5 * 1024 * 1024))

        def test_called_once():
            assert len(calls) == 1
        """
    )
    result = run(pytester)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "ok   test_busy.py::test_big: wall * ms, cpu * ms, memory not measured (budget 1 MiB), "
            "allocations not measured (budget 10), queries 0, gc *",
            "     note: memory not measured: another memory capture is running in this process",
        ]
    )


def test_save_baseline_writes_a_baseline_profiler_kit_check_reads(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_regression=REGRESSION)
    result = run(pytester, "--profiler-kit-save-baseline=base.json")
    assert result.ret == 0, result.stdout.str()
    baseline = load_baseline(pytester.path / "base.json")
    assert sorted(baseline.targets) == [
        "test_regression.py::test_allocating",
        "test_regression.py::test_querying",
    ]
    allocating = baseline.targets["test_regression.py::test_allocating"]
    assert allocating.kind == "test"
    assert len(allocating.wall_s) == len(allocating.cpu_s) == 2  # repeat=3, one under memray
    assert allocating.counts["allocations"] >= 2000
    assert {"allocated_bytes", "peak_bytes", "gc_collections", "queries"} <= set(allocating.counts)
    querying = baseline.targets["test_regression.py::test_querying"]
    assert len(querying.wall_s) == 3
    assert querying.counts["queries"] == 3
    assert "allocations" not in querying.counts
    assert "baseline of 2 measured tests written to" in result.stdout.str()
    # The document is the one `profiler-kit baseline save` writes.
    document = json.loads((pytester.path / "base.json").read_text())
    assert document["format"] == "profiler-kit-baseline" and document["version"] == 1

    # A run that measures nothing keeps the baseline there is.
    before = (pytester.path / "base.json").read_bytes()
    nothing = run(pytester, "--profiler-kit-save-baseline=base.json", "-k", "no_such_test")
    assert nothing.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "no test was measured" in nothing.stdout.str()
    assert (pytester.path / "base.json").read_bytes() == before


def test_baseline_check_fails_the_session_on_a_regression(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_regression=REGRESSION)
    saved = run(pytester, "--profiler-kit-save-baseline=base.json")
    assert saved.ret == 0, saved.stdout.str()

    same = run(pytester, "--profiler-kit-baseline=base.json")
    assert same.ret == 0, same.stdout.str()
    same.stdout.re_match_lines([r".*profiler-kit baseline check against .*base.json.*", r"^PASS: "])

    monkeypatch.setenv("PK_OBJECTS", "10000")
    monkeypatch.setenv("PK_QUERIES", "4")
    worse = run(pytester, "--profiler-kit-baseline=base.json")
    assert worse.ret == 1, worse.stdout.str()
    assert worse.parseoutcomes().get("passed") == 2  # the tests pass; the session fails
    text = worse.stdout.str()
    assert re.search(
        r"^!\s+test_regression.py::test_allocating\s+allocations\s.*REGRESSED$", text, re.M
    )
    assert re.search(
        r"^!\s+test_regression.py::test_querying\s+queries\s+3\s+4\s.*REGRESSED$", text, re.M
    )
    assert re.search(r"^FAIL: ", text, re.M)

    # Thresholds come from [tool.profiler-kit.check], as for `profiler-kit check`.
    pytester.makepyprojecttoml(
        """
        [tool.profiler-kit.check]
        tolerances = {allocations = 10, allocated_bytes = 10, peak_bytes = 10, queries = 1}
        """
    )
    tolerated = run(pytester, "--profiler-kit-baseline=base.json", "-v")
    assert tolerated.ret == 0, tolerated.stdout.str()
    # -v shows the whole comparison table.
    assert re.search(
        r"^\s+test_regression.py::test_querying\s+queries\s+3\s+4\s", tolerated.stdout.str(), re.M
    )


def test_tests_missing_from_the_baseline_are_noted_and_deselected_ones_ignored(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_regression=REGRESSION)
    saved = run(pytester, "--profiler-kit-save-baseline=base.json", "-k", "allocating")
    assert saved.ret == 0, saved.stdout.str()
    assert list(load_baseline(pytester.path / "base.json").targets) == [
        "test_regression.py::test_allocating"
    ]
    result = run(pytester, "--profiler-kit-baseline=base.json", "-v")
    assert result.ret == 0, result.stdout.str()
    assert (
        "note on test_regression.py::test_querying: new: not in the baseline" in result.stdout.str()
    )

    # A baseline target that does not run this time is not a failure.
    both = run(pytester, "--profiler-kit-save-baseline=both.json")
    assert both.ret == 0
    subset = run(pytester, "--profiler-kit-baseline=both.json", "-k", "querying")
    assert subset.ret == 0, subset.stdout.str()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the baseline"),
        ("{not json", "is not a baseline file (not JSON"),
        ('{"format": "something-else"}', "is not a profiler-kit baseline"),
        (
            '{"format": "profiler-kit-baseline", "version": 99, "targets": {}}',
            "is a version 99 baseline, newer than this profiler-kit reads",
        ),
        (
            '{"format": "profiler-kit-baseline", "version": 1, "targets": {"t": {"wall_s": []}}}',
            "'wall_s' must be a non-empty list",
        ),
    ],
)
def test_an_unusable_baseline_is_a_usage_error_before_any_test_runs(
    pytester: pytest.Pytester, content: str | None, message: str
) -> None:
    if content is not None:
        (pytester.path / "base.json").write_text(content)
    pytester.makepyfile(test_regression=REGRESSION)
    result = run(pytester, "--profiler-kit-baseline=base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    assert "--profiler-kit-baseline: " in result.stderr.str()
    assert message in result.stderr.str()
    assert "passed" not in result.stdout.str()


def test_save_baseline_into_a_missing_directory_is_a_usage_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_regression=REGRESSION)
    result = run(pytester, "--profiler-kit-save-baseline=missing/base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "does not exist" in result.stderr.str()
    assert not Path(pytester.path / "missing").exists()
