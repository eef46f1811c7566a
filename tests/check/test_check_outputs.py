"""``profiler-kit check`` output: text, Markdown, JSON, JUnit, -o, $GITHUB_STEP_SUMMARY, --report.

One baseline of the unchanged workload and one regressed run (three times the
CPU work, spent in ``spin``, plus 50 more function calls, so the
failure does not depend on timings alone) serve every test; a passing check is
the baseline's own run checked against it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

METRICS = ("wall_s", "cpu_s", "calls", "allocations", "allocated_bytes", "peak_bytes")
METRICS += ("gc_collections", "queries")
TARGET = "knobs.py"
GROWN = "spin"  # the function doing the extra CPU work of the regressed run

TIMING_FIELDS = {
    "kind",
    "metric",
    "verdict",
    "regressed",
    "improved",
    "baseline_median",
    "current_median",
    "ratio",
    "ci_low",
    "ci_high",
    "confidence",
    "p_value",
    "alpha",
    "threshold",
    "n_baseline",
    "n_current",
    "note",
}
COUNT_FIELDS = {
    "kind",
    "metric",
    "verdict",
    "regressed",
    "improved",
    "baseline",
    "current",
    "ratio",
    "tolerance",
    "note",
}


@pytest.fixture(scope="module")
def runs(kit_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A kit with ``baseline.json``, its run in ``captures.sqlite3``, a regressed run in
    ``regressed.sqlite3``."""
    pytest.importorskip("memray")
    kit = kit_factory(tmp_path_factory.mktemp("outputs"))
    kit.copy("knobs.py")
    kit.bench("knobs.py", repeat=15)
    kit.save_baseline(kit.cwd / "baseline.json")
    kit.bench("knobs.py", env={"KNOBS": "cpu,calls"}, store=kit.cwd / "regressed.sqlite3")
    return kit


def _check(kit: Any, *args: str | Path, regressed: bool = True, **kwargs: Any) -> Any:
    store = kit.cwd / ("regressed.sqlite3" if regressed else "captures.sqlite3")
    result = kit("check", "--baseline", "baseline.json", "--store", store, *args, **kwargs)
    assert result.returncode == (1 if regressed else 0), kit.explain(result)
    kit.assert_no_traceback(result)
    return result


# -- text -----------------------------------------------------------------------------


def test_text_names_regressions_and_grown_functions(runs: Any, tmp_path: Path) -> None:
    report = tmp_path / "diff.html"
    result = _check(runs, "--report", report)
    assert runs.regressed(result.stdout) >= {"calls", "cpu_s"}
    lines = result.stdout.splitlines()
    heading = f"functions whose share grew in {TARGET}:"
    assert heading in lines, result.stdout
    grown = lines[lines.index(heading) + 1]
    assert re.fullmatch(rf"  {GROWN} \({TARGET}:\d+\): [\d.]+% -> [\d.]+%", grown), grown
    before, after = (float(share) for share in re.findall(r"([\d.]+)%", grown))
    assert after - before > 30, grown  # about two thirds of the time is spent in spin now
    assert lines[-1].startswith("FAIL: ")
    assert f"diff report of the regressed targets: {report}" in result.stderr


def test_diff_report_written_on_regression(runs: Any, tmp_path: Path) -> None:
    """The HTML diff report: a profiler-kit report comparing the runs, naming the grown code."""
    report = tmp_path / "reports" / "perf-diff.html"
    report.parent.mkdir()
    _check(runs, "--report", report)
    html = report.read_text(encoding="utf-8")
    match = re.search(
        r'<script id="profiler-kit-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, "not a profiler-kit report"
    data = json.loads(match.group(1))
    assert data.get("diff"), "the report is not a diff against the baseline"
    assert GROWN in {frame["name"] for frame in data["frames"]}


def test_default_report_path_and_none_on_pass(runs: Any) -> None:
    default = runs.cwd / "profiler-kit-check.html"
    default.unlink(missing_ok=True)
    _check(runs, regressed=False)
    assert not default.exists(), "a report was written for a passing check"
    _check(runs)
    assert default.is_file()


# -- Markdown -------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    """A Markdown table row's cells; ``\\|`` is a pipe inside a cell."""
    assert line.startswith("|") and line.endswith("|"), line
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line[1:-1])]


def _tables(markdown: str) -> list[list[list[str]]]:
    """Every table: runs of lines starting with ``|``, split into cells."""
    tables: list[list[list[str]]] = []
    previous = False
    for line in markdown.splitlines():
        is_row = line.startswith("|")
        if is_row:
            if not previous:
                tables.append([])
            tables[-1].append(_cells(line))
        previous = is_row
    return tables


def _assert_table(table: list[list[str]]) -> list[dict[str, str]]:
    """A header, an alignment row, rows of as many cells; the rows as dicts."""
    header, alignment, *rows = table
    assert all(re.fullmatch(r":?-+:?", cell) for cell in alignment), alignment
    for row in [alignment, *rows]:
        assert len(row) == len(header), (header, row)
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.mark.parametrize("regressed", [True, False], ids=["fail", "pass"])
def test_markdown_is_a_table(runs: Any, regressed: bool) -> None:
    result = _check(runs, "--format", "markdown", regressed=regressed)
    markdown = result.stdout
    assert markdown.startswith("## profiler-kit check: "), markdown
    assert ("FAIL" if regressed else "PASS") in markdown.splitlines()[0]
    tables = _tables(markdown)
    rows = _assert_table(tables[0])
    assert [row["Metric"].replace("\\_", "_") for row in rows] == list(METRICS)
    assert {row["Target"] for row in rows} == {TARGET}
    verdicts = {row["Metric"].replace("\\_", "_"): row["Verdict"] for row in rows}
    if regressed:
        assert verdicts["calls"] == "**REGRESSED**", verdicts
        grown = _assert_table(tables[1])  # the functions whose share grew
        assert GROWN.replace("_", "\\_") in {row["Function"] for row in grown}, grown
    else:
        assert set(verdicts.values()) == {"ok"}, verdicts
        assert len(tables) == 1


# -- JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize("regressed", [True, False], ids=["fail", "pass"])
def test_json_schema(runs: Any, regressed: bool) -> None:
    document = json.loads(_check(runs, "--format", "json", regressed=regressed).stdout)
    assert document["format"] == "profiler-kit-check" and document["version"] == 1
    assert document["passed"] is (not regressed)
    summary = document["summary"]
    assert set(summary) == {"targets", "comparisons", "regressions", "improvements", "errors"}
    assert (summary["targets"], summary["comparisons"], summary["errors"]) == (1, 8, 0)
    (target,) = document["targets"]
    assert set(target) >= {
        "name",
        "passed",
        "regressed",
        "improved",
        "error",
        "note",
        "comparisons",
        "grown_functions",
    }
    assert target["name"] == TARGET and target["regressed"] is regressed
    assert [c["metric"] for c in target["comparisons"]] == list(METRICS)
    for comparison in target["comparisons"]:
        fields = TIMING_FIELDS if comparison["kind"] == "timing" else COUNT_FIELDS
        assert set(comparison) >= fields, comparison
        assert comparison["verdict"] in ("regressed", "improved", "unchanged", "too few samples")
        assert comparison["regressed"] is (comparison["verdict"] == "regressed")
    by_metric = {c["metric"]: c for c in target["comparisons"]}
    regressions = [c for c in target["comparisons"] if c["regressed"]]
    assert summary["regressions"] == len(regressions)
    if regressed:
        assert by_metric["calls"]["current"] == by_metric["calls"]["baseline"] + 50
        assert by_metric["cpu_s"]["ratio"] > 1
        assert by_metric["cpu_s"]["n_baseline"] == 15 and by_metric["cpu_s"]["n_current"] == 10
        names = [function["name"] for function in target["grown_functions"]]
        assert GROWN in names, target["grown_functions"]
        for function in target["grown_functions"]:
            assert set(function) == {"name", "location", "baseline_share", "current_share"}
            assert 0 <= function["baseline_share"] < function["current_share"] <= 1
    else:
        assert regressions == [] and target["grown_functions"] == []
        assert by_metric["wall_s"]["ratio"] == pytest.approx(1.0)


# -- JUnit ------------------------------------------------------------------------------


@pytest.mark.parametrize("regressed", [True, False], ids=["fail", "pass"])
def test_junit_xml(runs: Any, regressed: bool) -> None:
    root = ET.fromstring(_check(runs, "--format", "junit", regressed=regressed).stdout)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "profiler-kit check"
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == [f"{TARGET} [{m}]" for m in METRICS]
    assert {case.get("classname") for case in cases} == {TARGET}
    failed = {case.get("name") for case in cases if case.find("failure") is not None}
    assert suite.get("tests") == root.get("tests") == str(len(cases))
    assert suite.get("failures") == root.get("failures") == str(len(failed))
    assert suite.get("errors") == "0"
    if regressed:
        assert f"{TARGET} [calls]" in failed and f"{TARGET} [cpu_s]" in failed
        calls = next(case for case in cases if case.get("name") == f"{TARGET} [calls]")
        failure = calls.find("failure")
        assert failure is not None
        assert failure.get("message", "").startswith("regressed: calls: ")
        assert GROWN in (failure.text or "")
    else:
        assert failed == set()


# -- where the output goes ------------------------------------------------------------------


@pytest.mark.parametrize("output_format", ["text", "markdown", "json", "junit"])
def test_output_file(runs: Any, tmp_path: Path, output_format: str) -> None:
    """``-o FILE`` holds exactly what standard output would have."""
    printed = _check(runs, "--format", output_format, "--report", tmp_path / "a.html").stdout
    written = tmp_path / f"check.{output_format}"
    result = _check(runs, "--format", output_format, "-o", written, "--report", tmp_path / "b.html")
    assert result.stdout == ""
    assert f"check result written to {written}" in result.stderr
    text = written.read_text(encoding="utf-8")
    assert text == printed  # the comparison is deterministic (the bootstrap is seeded)
    if output_format == "json":
        json.loads(text)
    elif output_format == "junit":
        ET.fromstring(text)


@pytest.mark.parametrize("regressed", [True, False], ids=["fail", "pass"])
def test_github_step_summary(runs: Any, tmp_path: Path, regressed: bool) -> None:
    """With $GITHUB_STEP_SUMMARY set the Markdown is appended to that file, whatever --format."""
    summary = tmp_path / "step_summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    markdown = _check(runs, "--format", "markdown", regressed=regressed).stdout
    result = _check(
        runs,
        "--format",
        "junit",
        "-o",
        tmp_path / "perf.xml",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
        regressed=regressed,
    )
    content = summary.read_text(encoding="utf-8")
    assert content.startswith("# earlier step\n## profiler-kit check: ")
    assert content[len("# earlier step\n") :].rstrip("\n") == markdown.rstrip("\n")
    assert result.stdout == ""
    ET.fromstring((tmp_path / "perf.xml").read_text(encoding="utf-8"))


def test_github_step_summary_unwritable(runs: Any, tmp_path: Path) -> None:
    """An unwritable summary file is a warning: the check's own verdict stands."""
    result = _check(
        runs,
        env={"GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "such" / "dir.md")},
        regressed=False,
    )
    assert "warning" in result.stderr and "dir.md" in result.stderr
    assert result.stdout.rstrip().endswith("PASS: no regressions in 1 target")


def test_output_to_unwritable_path(runs: Any, tmp_path: Path) -> None:
    result = runs(
        "check",
        "--baseline",
        "baseline.json",
        "-o",
        tmp_path / "missing" / "out.json",
        "--format",
        "json",
    )
    runs.assert_input_error(result, "out.json")
