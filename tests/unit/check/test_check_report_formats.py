"""profiler_kit.check.report_formats: the four renderings parse, agree and escape names."""

from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from profiler_kit.check.report_formats import (
    FORMATS,
    JSON_FORMAT,
    JSON_VERSION,
    JUNIT_SUITE,
    check_result_data,
    render,
    render_json,
    render_junit,
    render_markdown,
    render_text,
)
from profiler_kit.check.result import CheckResult, GrownFunction, TargetResult
from profiler_kit.check.stats import compare_count, compare_timings

HOSTILE = '<script>&"alert(1)</script> | a\nb\r\nc\x1b[31m\x00 `*_[x](y)` $x$ ~~no~~ \\|'
WIDE = "名前 ünïcödé"


def samples(center: float, count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [center * rng.lognormvariate(0, 0.05) for _ in range(count)]


def failing_result() -> CheckResult:
    base = samples(0.010, 20, 1)
    slower = samples(0.012, 20, 2)
    hostile = TargetResult(
        name=HOSTILE,
        comparisons=[
            compare_timings(base, slower, threshold=0.05, alpha=0.01),
            compare_timings(
                base, samples(0.010, 20, 3), threshold=0.05, alpha=0.01, metric="cpu_s"
            ),
            compare_count("calls", 1000, 1300, tolerance=0.05),
            compare_count("peak_bytes", 10_000_000, 9_000_000, tolerance=0.05),
        ],
        grown_functions=[GrownFunction("serialize|<b>\n", "app/views.py:12 & co", 0.10, 0.25)],
        note="note with | pipe\nand newline",
    )
    wide = TargetResult(
        name=WIDE,
        comparisons=[
            compare_timings([1.0, 2.0], [1.0, 2.0, 3.0], threshold=0.05, alpha=0.01),
            compare_count("queries", 0, 0, tolerance=0),
        ],
    )
    missing = TargetResult(name="missing <target>", comparisons=[], error="not in the current run")
    return CheckResult.from_targets([hostile, wide, missing])


def passing_result() -> CheckResult:
    base = samples(0.010, 12, 4)
    return CheckResult.from_targets(
        [
            TargetResult(
                name="script.py",
                comparisons=[
                    compare_timings(base, samples(0.010, 12, 5), threshold=0.05, alpha=0.01),
                    compare_timings(
                        base, samples(0.007, 12, 6), threshold=0.05, alpha=0.01, metric="cpu_s"
                    ),
                    compare_count("calls", 500, 500, tolerance=0.0),
                ],
            )
        ]
    )


# --------------------------------------------------------------------------
# The result itself


def test_result_summaries() -> None:
    result = failing_result()
    assert not result.passed
    assert [(target.name, comparison.metric) for target, comparison in result.regressions] == [
        (HOSTILE, "wall_s"),
        (HOSTILE, "calls"),
    ]
    assert [comparison.metric for _, comparison in result.improvements] == ["peak_bytes"]
    assert [target.name for target in result.errors] == ["missing <target>"]
    assert passing_result().passed
    assert CheckResult.from_targets([]).passed


# --------------------------------------------------------------------------
# Text


def test_text_ends_with_the_verdict() -> None:
    failing = render_text(failing_result())
    assert failing.endswith("\n")
    last = failing.rstrip("\n").splitlines()[-1]
    assert last.startswith("FAIL: 2 regressions in 1 of 3 targets")
    assert "1 target could not be compared" in last
    passing = render_text(passing_result()).rstrip("\n").splitlines()[-1]
    assert passing.startswith("PASS: no regressions in 1 target")
    assert "1 improvement" in passing


def test_text_marks_regressed_rows_and_keeps_names_on_one_line() -> None:
    text = render_text(failing_result())
    assert "\x1b" not in text and "\x00" not in text and "\r" not in text
    escaped_name = HOSTILE.replace("\r", "\\r").replace("\n", "\\n")
    escaped_name = escaped_name.replace("\x1b", "\\x1b").replace("\x00", "\\x00")
    rows = [line for line in text.splitlines() if escaped_name in line]
    assert len(rows) >= 4  # four metrics, plus notes naming the target
    regressed = [line for line in rows if line.endswith("REGRESSED")]
    assert len(regressed) == 2
    assert all(line.startswith("!") for line in regressed)
    assert next(line for line in rows if line.endswith("improved")).startswith(" ")
    assert any(line.startswith("!") and line.endswith("ERROR") for line in text.splitlines())
    assert "too few samples" in text
    assert "serialize|<b>\\n (app/views.py:12 & co): 10.0% -> 25.0%" in text


def test_text_columns_line_up() -> None:
    text = render_text(passing_result())
    lines = text.splitlines()
    header = next(line for line in lines if "baseline" in line and "verdict" in line)
    table = lines[lines.index(header) : lines.index(header) + 4]
    # Right-aligned numbers end at the header's column end.
    end = header.index("current") + len("current")
    for row in table[1:]:
        assert row[end - 1] != " " and row[end] == " "
    assert "wall_s" in table[1] and "cpu_s" in table[2] and "calls" in table[3]


def test_text_of_nothing_compared() -> None:
    text = render_text(CheckResult.from_targets([]))
    assert text.rstrip().splitlines()[-1] == "PASS: no regressions in 0 targets"


# --------------------------------------------------------------------------
# Markdown


def split_gfm_row(line: str) -> list[str]:
    """Cells of a GFM table row as cmark-gfm splits them (``\\x`` never splits)."""
    assert line.startswith("|") and line.endswith("|"), line
    cells, cell, index = [], "", 1
    while index < len(line) - 1:
        char = line[index]
        if char == "\\" and index + 1 < len(line) - 1:
            cell += line[index : index + 2]
            index += 2
            continue
        if char == "|":
            cells.append(cell.strip())
            cell = ""
        else:
            cell += char
        index += 1
    cells.append(cell.strip())
    return cells


def unescape_markdown(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell.replace("<br>", "\n"))


def markdown_tables(markdown: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(split_gfm_row(line))
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def test_markdown_tables_have_consistent_columns() -> None:
    markdown = render_markdown(failing_result())
    tables = markdown_tables(markdown)
    assert len(tables) == 2  # comparisons, grown functions
    for table in tables:
        widths = {len(row) for row in table}
        assert len(widths) == 1, table
        assert all(re.fullmatch(r":?-+:?", cell) for cell in table[1])
    comparisons = tables[0]
    assert comparisons[0][:2] == ["Target", "Metric"]
    body = comparisons[2:]
    assert len(body) == 4 + 2 + 1  # metrics of two targets, one error row
    # The hostile name survives escaping: unescaped, it reads as it was given.
    expected = HOSTILE.replace("\r\n", "\n").replace("\x1b", "\\x1b").replace("\x00", "\\x00")
    assert unescape_markdown(body[0][0]) == expected.strip()
    verdicts = [row[-1] for row in body]
    assert verdicts.count("**REGRESSED**") == 2 and verdicts[-1] == "**ERROR**"
    grown = tables[1]
    assert unescape_markdown(grown[2][1]) == "serialize|<b>\n"
    assert unescape_markdown(grown[2][2]) == "app/views.py:12 & co"


def test_markdown_has_no_raw_html_or_markup_from_names() -> None:
    markdown = render_markdown(failing_result())
    assert not re.search(r"(?<!\\)<(/?)script", markdown)
    assert "\x1b" not in markdown and "\r" not in markdown
    # Everything that looks like a tag is one of ours.
    assert set(re.findall(r"(?<!\\)<[^>]*>", markdown)) == {"<br>"}
    assert markdown.startswith("## profiler-kit check: ❌ FAIL")
    assert render_markdown(passing_result()).startswith("## profiler-kit check: ✅ PASS")


class _TableCells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_markdown_renders_as_gfm_tables() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    html = (
        markdown_it.MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .render(render_markdown(failing_result()))
    )
    parser = _TableCells()
    parser.feed(html)
    assert parser.tags <= {
        "h2",
        "p",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "br",
        "ul",
        "li",
        "strong",
    }
    comparison_rows = [row for row in parser.rows if len(row) == 9]
    grown_rows = [row for row in parser.rows if len(row) == 5]
    assert len(comparison_rows) + len(grown_rows) == len(parser.rows)
    assert len(comparison_rows) == 1 + 7 and len(grown_rows) == 1 + 1
    first_name = comparison_rows[1][0]
    assert first_name.startswith('<script>&"alert(1)</script> | a')
    assert "[x](y)" in first_name and "$x$" in first_name and "\\|" in first_name


def test_markdown_of_nothing_compared() -> None:
    markdown = render_markdown(CheckResult.from_targets([]))
    assert "No targets were compared." in markdown
    assert markdown_tables(markdown) == []


# --------------------------------------------------------------------------
# JSON

TIMING_KEYS = {
    "kind", "metric", "verdict", "regressed", "improved", "baseline_median", "current_median",
    "ratio", "ci_low", "ci_high", "confidence", "p_value", "alpha", "threshold", "n_baseline",
    "n_current", "note",
}  # fmt: skip
COUNT_KEYS = {
    "kind", "metric", "verdict", "regressed", "improved", "baseline", "current", "ratio",
    "tolerance", "note",
}  # fmt: skip
TARGET_KEYS = {
    "name", "passed", "regressed", "improved", "error", "note", "comparisons", "grown_functions",
}  # fmt: skip
VERDICTS = {"regressed", "improved", "unchanged", "too few samples"}


def test_json_round_trips_with_the_documented_schema() -> None:
    result = failing_result()
    document = json.loads(render_json(result))
    assert document == check_result_data(result)
    assert set(document) == {"format", "version", "passed", "summary", "targets"}
    assert (document["format"], document["version"]) == (JSON_FORMAT, JSON_VERSION)
    assert document["format"] == "profiler-kit-check" and document["version"] == 1
    assert document["passed"] is False
    assert document["summary"] == {
        "targets": 3,
        "comparisons": 6,
        "regressions": 2,
        "improvements": 1,
        "errors": 1,
    }
    names = [target["name"] for target in document["targets"]]
    assert names == [HOSTILE, WIDE, "missing <target>"]
    for target in document["targets"]:
        assert set(target) == TARGET_KEYS
        for comparison in target["comparisons"]:
            assert comparison["verdict"] in VERDICTS
            expected = TIMING_KEYS if comparison["kind"] == "timing" else COUNT_KEYS
            assert set(comparison) == expected
        for function in target["grown_functions"]:
            assert set(function) == {"name", "location", "baseline_share", "current_share"}
    hostile = document["targets"][0]
    assert [c["metric"] for c in hostile["comparisons"]] == [
        "wall_s",
        "cpu_s",
        "calls",
        "peak_bytes",
    ]
    wall = hostile["comparisons"][0]
    assert wall["regressed"] is True and wall["verdict"] == "regressed"
    assert wall["ci_low"] <= wall["ratio"] <= wall["ci_high"]
    assert wall["p_value"] < wall["alpha"] == 0.01
    few = document["targets"][1]["comparisons"][0]
    assert few["verdict"] == "too few samples" and few["p_value"] is None and few["ci_low"] is None
    assert document["targets"][2]["error"] == "not in the current run"
    assert document["targets"][2]["passed"] is False


def test_json_writes_infinite_ratios_as_null() -> None:
    result = CheckResult.from_targets(
        [TargetResult("t", [compare_count("queries", 0, 3, tolerance=0.1)])]
    )
    text = render_json(result)
    assert "Infinity" not in text and "NaN" not in text
    comparison = json.loads(text)["targets"][0]["comparisons"][0]
    assert comparison["ratio"] is None and comparison["regressed"] is True


# --------------------------------------------------------------------------
# JUnit XML


def test_junit_parses_with_one_testcase_per_target_and_metric() -> None:
    result = failing_result()
    xml = render_junit(result)
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == [JUNIT_SUITE] == ["profiler-kit check"]
    suite = suites[0]
    cases = suite.findall("testcase")
    metric_cases = [case for case in cases if case.find("error") is None]
    assert len(metric_cases) == sum(len(target.comparisons) for target in result.targets) == 6
    failures = [case for case in cases if case.find("failure") is not None]
    assert len(failures) == len(result.regressions) == 2
    assert all(case.find("failure").get("type") == "regression" for case in failures)  # type: ignore[union-attr]
    assert len([case for case in cases if case.find("skipped") is not None]) == 1
    assert len([case for case in cases if case.find("error") is not None]) == 1
    for element in (root, suite):
        assert element.get("tests") == str(len(cases)) == "7"
        assert element.get("failures") == "2"
        assert element.get("errors") == "1"
        assert element.get("skipped") == "1"


def test_junit_escapes_hostile_names() -> None:
    root = ET.fromstring(render_junit(failing_result()).encode("utf-8"))
    cases = root.findall("./testsuite/testcase")
    # Markup characters and newlines survive exactly; characters XML cannot
    # hold (ESC, NUL) are written as Python escapes.
    expected = HOSTILE.replace("\x1b", "\\x1b").replace("\x00", "\\x00")
    # XML parsers normalise a literal \r\n; the attribute keeps it as a reference.
    hostile = [case for case in cases if case.get("classname") == expected]
    assert len(hostile) == 4
    assert {case.get("name") for case in hostile} == {
        f"{expected} [{metric}]" for metric in ("wall_s", "cpu_s", "calls", "peak_bytes")
    }
    assert '<script>&"' in expected
    failure = hostile[0].find("failure")
    assert failure is not None
    assert (failure.get("message") or "").startswith("regressed: wall_s:")
    assert "serialize|<b>" in (failure.text or "")
    system_out = root.find("./testsuite/system-out")
    assert system_out is not None and "FAIL:" in (system_out.text or "")


def test_junit_stays_red_when_the_caller_failed_the_check() -> None:
    result = passing_result()
    failed = CheckResult(targets=result.targets, passed=False)
    root = ET.fromstring(render_junit(failed).encode("utf-8"))
    assert root.get("failures") == "1"
    assert ET.fromstring(render_junit(result).encode("utf-8")).get("failures") == "0"


def test_junit_of_nothing_compared() -> None:
    root = ET.fromstring(render_junit(CheckResult.from_targets([])).encode("utf-8"))
    assert root.get("tests") == "0" and root.find("testsuite") is not None


# --------------------------------------------------------------------------
# All formats


@pytest.mark.parametrize("report_format", FORMATS)
def test_render_dispatches(report_format: str) -> None:
    result = failing_result()
    expected = {
        "text": render_text,
        "markdown": render_markdown,
        "json": render_json,
        "junit": render_junit,
    }[report_format](result)
    assert render(result, report_format) == expected  # type: ignore[arg-type]


def test_render_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown check report format"):
        render(passing_result(), "html")  # type: ignore[arg-type]


def test_lone_surrogates_in_names_do_not_break_any_format() -> None:
    result = CheckResult.from_targets(
        [TargetResult("bad \udcff name", [compare_count("calls", 1, 2, tolerance=0)])]
    )
    for report_format in FORMATS:
        render(result, report_format).encode("utf-8")
    assert json.loads(render_json(result))["targets"][0]["name"] == "bad \udcff name"
