"""The four renderings of a :class:`~profiler_kit.check.result.CheckResult`.

* :func:`render_text`: an aligned table for terminals and CI logs, regressed
  rows marked with ``!``, ending in a ``PASS: ...`` or ``FAIL: ...`` line.
* :func:`render_markdown`: a GitHub-flavoured Markdown table, for
  ``$GITHUB_STEP_SUMMARY`` and pull request comments.
* :func:`render_json`: the stable machine-readable form, described below.
* :func:`render_junit`: JUnit XML, one testsuite ``profiler-kit check`` with
  one testcase per target and metric and a ``<failure>`` for each regression,
  so CI systems show regressions as failed tests.

Target and function names come from user code and URLs and may contain
anything, so each format escapes them its own way: the text table writes
characters that are not printable (newlines, tabs, terminal escape
sequences) as Python escapes (``\\n``, ``\\x1b``) so a name stays on one row
and cannot drive the terminal; Markdown backslash-escapes ``|`` (which would
split table cells) and the characters that start inline markup or HTML, and
writes newlines as ``<br>``; JUnit XML is built with :mod:`xml.etree`, which
escapes markup, after characters XML cannot hold at all (control
characters, lone surrogates) are written as Python escapes; JSON keeps names
exactly (``json.dumps`` escapes them).

JSON schema (``"version": 1``; fields are only ever added)::

    {
      "format": "profiler-kit-check", "version": 1,
      "passed": bool,
      "summary": {"targets": int, "comparisons": int, "regressions": int,
                  "improvements": int, "errors": int},
      "targets": [{
        "name": str, "passed": bool, "regressed": bool, "improved": bool,
        "error": str | null, "note": str | null,
        "comparisons": [
          {"kind": "timing", "metric": str, "verdict": VERDICT,
           "regressed": bool, "improved": bool,
           "baseline_median": float, "current_median": float,   # seconds
           "ratio": float | null, "ci_low": float | null, "ci_high": float | null,
           "confidence": float, "p_value": float | null, "alpha": float,
           "threshold": float, "n_baseline": int, "n_current": int,
           "note": str | null},
          {"kind": "count", "metric": str, "verdict": VERDICT,
           "regressed": bool, "improved": bool, "baseline": int, "current": int,
           "ratio": float | null, "tolerance": float, "note": str | null}],
        "grown_functions": [{"name": str, "location": str,
                             "baseline_share": float, "current_share": float}]
      }]
    }

``VERDICT`` is one of ``"regressed"``, ``"improved"``, ``"unchanged"``,
``"too few samples"``, ``"advisory"`` (a timing shown but not gating: its
``note`` says what the test found). Ratios are current / baseline. Numbers that are not
finite (the ratio to a zero baseline) are ``null``, so the file is strict
JSON.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any, Literal

from profiler_kit.check.result import CheckResult, Comparison, GrownFunction, TargetResult
from profiler_kit.check.stats import CountComparison, TimingComparison, Verdict
from profiler_kit.units import (
    counted,
    escape_char,
    format_bytes,
    format_count,
    format_seconds,
    printable,
)

__all__ = [
    "FORMATS",
    "JSON_FORMAT",
    "JSON_VERSION",
    "JUNIT_SUITE",
    "ReportFormat",
    "check_result_data",
    "render",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_text",
]

ReportFormat = Literal["text", "markdown", "json", "junit"]
FORMATS: tuple[ReportFormat, ...] = ("text", "markdown", "json", "junit")

JSON_FORMAT = "profiler-kit-check"
JSON_VERSION = 1
JUNIT_SUITE = "profiler-kit check"

_LABELS: dict[Verdict, str] = {
    "regressed": "REGRESSED",
    "improved": "improved",
    "unchanged": "ok",
    "too few samples": "too few samples",
    "advisory": "advisory",
}


def render(result: CheckResult, format: ReportFormat) -> str:
    """``result`` in one of :data:`FORMATS`."""
    if format == "text":
        return render_text(result)
    if format == "markdown":
        return render_markdown(result)
    if format == "json":
        return render_json(result)
    if format == "junit":
        return render_junit(result)
    raise ValueError(f"unknown check report format {format!r}; choose from {', '.join(FORMATS)}")


# --------------------------------------------------------------------------
# Shared wording


def _value(metric: str, value: float) -> str:
    if metric.endswith("_s"):
        return format_seconds(value)
    if metric.endswith("_bytes"):
        return format_bytes(int(value))
    return format_count(int(value))


def _baseline(comparison: Comparison) -> str:
    if isinstance(comparison, TimingComparison):
        return _value(comparison.metric, comparison.baseline_median)
    return _value(comparison.metric, comparison.baseline)


def _current(comparison: Comparison) -> str:
    if isinstance(comparison, TimingComparison):
        return _value(comparison.metric, comparison.current_median)
    return _value(comparison.metric, comparison.current)


def _percent(ratio: float) -> str:
    """A ratio as a signed change: 1.125 -> ``+12.5%``."""
    if math.isinf(ratio):
        return "from 0"
    return f"{(ratio - 1) * 100:+.1f}%"


def _change(comparison: Comparison) -> str:
    return _percent(comparison.ratio)


def _interval(comparison: Comparison, separator: str) -> str:
    if not isinstance(comparison, TimingComparison):
        return "-"
    if comparison.ci_low is None or comparison.ci_high is None:
        return "-"
    return f"{_percent(comparison.ci_low)}{separator}{_percent(comparison.ci_high)}"


def _p(comparison: Comparison) -> str:
    if not isinstance(comparison, TimingComparison) or comparison.p_value is None:
        return "-"
    if comparison.p_value < 0.001:
        return "<0.001"
    return f"{comparison.p_value:.3f}"


def _limit(comparison: Comparison) -> str:
    """The rule the verdict applied, e.g. ``+5% & p<0.01``."""
    if isinstance(comparison, TimingComparison):
        if not comparison.gating:
            return "report only"
        return f"+{comparison.threshold * 100:g}% & p<{comparison.alpha:g}"
    return f"+{comparison.tolerance * 100:g}%"


def _ci_title(result: CheckResult) -> str:
    levels = {
        comparison.confidence
        for target in result.targets
        for comparison in target.comparisons
        if isinstance(comparison, TimingComparison)
    }
    return f"{levels.pop() * 100:g}% CI" if len(levels) == 1 else "CI"


def _describe(comparison: Comparison) -> str:
    """One line: what changed, by how much, and how sure."""
    text = f"{comparison.metric}: {_baseline(comparison)} -> {_current(comparison)}"
    text += f" ({_change(comparison)}"
    if isinstance(comparison, TimingComparison):
        if comparison.ci_low is not None:
            text += f", {comparison.confidence * 100:g}% CI {_interval(comparison, ' to ')}"
        if comparison.p_value is not None:
            text += f", p={comparison.p_value:.2g}"
        text += (
            f"; limit +{comparison.threshold * 100:g}% at alpha {comparison.alpha:g};"
            f" {comparison.n_baseline} baseline and {comparison.n_current} current samples)"
        )
    else:
        text += f"; tolerance +{comparison.tolerance * 100:g}%)"
    if comparison.note:
        text += f"; {comparison.note}"
    return text


def _share(share: float) -> str:
    return f"{share * 100:.1f}%"


def _summary(result: CheckResult) -> str:
    """The verdict sentence: ``PASS: ...`` or ``FAIL: ...``."""
    targets = len(result.targets)
    regressions = result.regressions
    errors = result.errors
    improvements = len(result.improvements)
    parts = []
    if regressions:
        regressed_targets = len({id(target) for target, _ in regressions})
        parts.append(
            f"{counted(len(regressions), 'regression')} in {regressed_targets} of"
            f" {counted(targets, 'target')}"
        )
    if errors:
        parts.append(f"{counted(len(errors), 'target')} could not be compared")
    if not parts:
        parts.append(f"no regressions in {counted(targets, 'target')}")
    if improvements:
        parts.append(counted(improvements, "improvement"))
    return ("PASS: " if result.passed else "FAIL: ") + "; ".join(parts)


# --------------------------------------------------------------------------
# Text


def _width(text: str) -> int:
    """Terminal columns: wide East Asian characters take two, combining marks none."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _table(rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    widths = [max(_width(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = []
        for column, cell in enumerate(row):
            pad = " " * (widths[column] - _width(cell))
            cells.append(pad + cell if right[column] else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return lines


def render_text(result: CheckResult) -> str:
    """An aligned table for a terminal, regressed rows marked ``!``, then the verdict line."""
    header = ["", "target", "metric", "baseline", "current", "change", _ci_title(result), "p"]
    header += ["limit", "verdict"]
    right = [False, False, False, True, True, True, False, True, False, False]
    rows = [header]
    for target in result.targets:
        name = printable(target.name)
        for comparison in target.comparisons:
            rows.append(
                [
                    "!" if comparison.regressed else "",
                    name,
                    printable(comparison.metric),
                    _baseline(comparison),
                    _current(comparison),
                    _change(comparison),
                    _interval(comparison, ".."),
                    _p(comparison),
                    _limit(comparison),
                    _LABELS[comparison.verdict],
                ]
            )
        if target.error is not None:
            rows.append(["!", name, "-", "-", "-", "-", "-", "-", "-", "ERROR"])
    lines = [f"profiler-kit check: {counted(len(result.targets), 'target')}"]
    if len(rows) > 1:
        lines += ["", *_table(rows, right)]
    details = []
    for target in result.targets:
        name = printable(target.name)
        if target.error is not None:
            details.append(f"error in {name}: {printable(target.error)}")
        if target.note:
            details.append(f"note on {name}: {printable(target.note)}")
        for comparison in target.comparisons:
            if comparison.note:
                details.append(
                    f"note on {name} {printable(comparison.metric)}: {printable(comparison.note)}"
                )
        if target.grown_functions:
            details.append(f"functions whose share grew in {name}:")
            details += [f"  {_grown_line(function)}" for function in target.grown_functions]
    if details:
        lines += ["", *details]
    lines += ["", _summary(result)]
    return "\n".join(lines) + "\n"


def _grown_line(function: GrownFunction) -> str:
    location = f" ({printable(function.location)})" if function.location else ""
    return (
        f"{printable(function.name)}{location}: {_share(function.baseline_share)}"
        f" -> {_share(function.current_share)}"
    )


# --------------------------------------------------------------------------
# Markdown

# Characters that start inline markup, HTML or entities (``&``), split table
# cells (``|``) or start math on GitHub (``$``); backslash-escaping any ASCII
# punctuation makes it literal in CommonMark, and GFM tables honour ``\\|``.
_MARKDOWN_SPECIAL = frozenset("\\`*_[]<>&|~$!#")


def _markdown_cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell, shown as it reads."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for char in text:
        if char == "\n":
            out.append("<br>")
        elif char in _MARKDOWN_SPECIAL:
            out.append("\\" + char)
        elif not char.isprintable():
            out.append(_markdown_cell(escape_char(char)))
        else:
            out.append(char)
    return "".join(out).strip() or "\u00a0"  # a blank cell would still be a cell


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render_markdown(result: CheckResult) -> str:
    """A heading with the verdict, the comparisons as a table, then details."""
    verdict = "✅ PASS" if result.passed else "❌ FAIL"
    lines = [f"## profiler-kit check: {verdict}", "", _markdown_cell(_summary(result)), ""]
    rows = []
    for target in result.targets:
        name = _markdown_cell(target.name)
        for comparison in target.comparisons:
            label = _LABELS[comparison.verdict]
            rows.append(
                _md_row(
                    [
                        name,
                        _markdown_cell(comparison.metric),
                        _markdown_cell(_baseline(comparison)),
                        _markdown_cell(_current(comparison)),
                        _markdown_cell(_change(comparison)),
                        _markdown_cell(_interval(comparison, " … ")),
                        _markdown_cell(_p(comparison)),
                        _markdown_cell(_limit(comparison)),
                        f"**{label}**" if comparison.regressed else label,
                    ]
                )
            )
        if target.error is not None:
            rows.append(_md_row([name, "-", "-", "-", "-", "-", "-", "-", "**ERROR**"]))
    if rows:
        header = ["Target", "Metric", "Baseline", "Current", "Change", _ci_title(result), "p"]
        header += ["Limit", "Verdict"]
        lines += [_md_row(header), "| :-- | :-- | --: | --: | --: | :-- | --: | :-- | :-- |"]
        lines += [*rows, ""]
    else:
        lines += ["No targets were compared.", ""]
    notes = []
    for target in result.targets:
        name = _markdown_cell(target.name)
        if target.error is not None:
            notes.append(f"- **{name}**: error: {_markdown_cell(target.error)}")
        if target.note:
            notes.append(f"- **{name}**: {_markdown_cell(target.note)}")
        for comparison in target.comparisons:
            if comparison.note:
                metric = _markdown_cell(comparison.metric)
                notes.append(f"- **{name}** {metric}: {_markdown_cell(comparison.note)}")
    if notes:
        lines += [*notes, ""]
    grown = [
        _md_row(
            [
                _markdown_cell(target.name),
                _markdown_cell(function.name),
                _markdown_cell(function.location),
                _markdown_cell(_share(function.baseline_share)),
                _markdown_cell(_share(function.current_share)),
            ]
        )
        for target in result.targets
        for function in target.grown_functions
    ]
    if grown:
        lines += [
            "Functions whose share of the profile grew:",
            "",
            _md_row(["Target", "Function", "Location", "Baseline share", "Current share"]),
            "| :-- | :-- | :-- | --: | --: |",
            *grown,
            "",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# JSON


def _number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _comparison_data(comparison: Comparison) -> dict[str, Any]:
    if isinstance(comparison, TimingComparison):
        return {
            "kind": "timing",
            "metric": comparison.metric,
            "verdict": comparison.verdict,
            "regressed": comparison.regressed,
            "improved": comparison.improved,
            "baseline_median": _number(comparison.baseline_median),
            "current_median": _number(comparison.current_median),
            "ratio": _number(comparison.ratio),
            "ci_low": _number(comparison.ci_low),
            "ci_high": _number(comparison.ci_high),
            "confidence": comparison.confidence,
            "p_value": _number(comparison.p_value),
            "alpha": comparison.alpha,
            "threshold": comparison.threshold,
            "n_baseline": comparison.n_baseline,
            "n_current": comparison.n_current,
            "note": comparison.note,
        }
    assert isinstance(comparison, CountComparison)
    return {
        "kind": "count",
        "metric": comparison.metric,
        "verdict": comparison.verdict,
        "regressed": comparison.regressed,
        "improved": comparison.improved,
        "baseline": comparison.baseline,
        "current": comparison.current,
        "ratio": _number(comparison.ratio),
        "tolerance": comparison.tolerance,
        "note": comparison.note,
    }


def _target_data(target: TargetResult) -> dict[str, Any]:
    return {
        "name": target.name,
        "passed": not target.failed,
        "regressed": target.regressed,
        "improved": target.improved,
        "error": target.error,
        "note": target.note,
        "comparisons": [_comparison_data(comparison) for comparison in target.comparisons],
        "grown_functions": [
            {
                "name": function.name,
                "location": function.location,
                "baseline_share": _number(function.baseline_share),
                "current_share": _number(function.current_share),
            }
            for function in target.grown_functions
        ],
    }


def check_result_data(result: CheckResult) -> dict[str, Any]:
    """The JSON document as Python data (see the schema in the module docstring)."""
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "passed": result.passed,
        "summary": {
            "targets": len(result.targets),
            "comparisons": sum(len(target.comparisons) for target in result.targets),
            "regressions": len(result.regressions),
            "improvements": len(result.improvements),
            "errors": len(result.errors),
        },
        "targets": [_target_data(target) for target in result.targets],
    }


def render_json(result: CheckResult) -> str:
    """Strict JSON (no NaN or Infinity), indented, ending in a newline."""
    return json.dumps(check_result_data(result), indent=2, allow_nan=False) + "\n"


# --------------------------------------------------------------------------
# JUnit XML

# What XML 1.0 can hold at all; everything else (control characters, lone
# surrogates, U+FFFE/U+FFFF) must not appear, not even as a character reference.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """``text`` with the characters XML cannot hold written as Python escapes."""
    return _NOT_XML.sub(lambda match: escape_char(match.group()), text)


def _counted(element: ET.Element, tests: int, failures: int, errors: int, skipped: int) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("skipped", str(skipped))


def render_junit(result: CheckResult) -> str:
    """JUnit XML: one testcase per target and metric; regressions are failures.

    ``classname`` is the target's name and ``name`` is ``"<target> [<metric>]"``
    (viewers differ in which of the two they show). A comparison with too few
    samples is skipped; a target that could not be compared is one testcase
    with an ``<error>``. The text report is the suite's ``<system-out>``.
    """
    suites = ET.Element("testsuites", {"name": JUNIT_SUITE})
    suite = ET.SubElement(suites, "testsuite", {"name": JUNIT_SUITE})
    tests = failures = errors = skipped = 0
    for target in result.targets:
        name = _xml_text(target.name)
        grown_lines = (_xml_text(_grown_line(function)) for function in target.grown_functions)
        grown = "".join(f"\n{line}" for line in grown_lines)
        grown = f"\nfunctions whose share grew:{grown}" if grown else ""
        for comparison in target.comparisons:
            tests += 1
            case = ET.SubElement(
                suite,
                "testcase",
                {"classname": name, "name": f"{name} [{_xml_text(comparison.metric)}]"},
            )
            description = _xml_text(_describe(comparison))
            if comparison.regressed:
                failures += 1
                failure = ET.SubElement(
                    case, "failure", {"type": "regression", "message": f"regressed: {description}"}
                )
                failure.text = description + grown
            elif comparison.verdict == "too few samples":
                skipped += 1
                ET.SubElement(case, "skipped", {"message": description})
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"{comparison.verdict}: {description}"
        if target.error is not None:
            tests += 1
            errors += 1
            case = ET.SubElement(suite, "testcase", {"classname": name, "name": name})
            message = _xml_text(target.error)
            error = ET.SubElement(case, "error", {"type": "error", "message": message})
            error.text = message
    if not result.passed and failures == 0 and errors == 0:
        # The caller failed the check for its own reasons: keep JUnit red too.
        tests += 1
        failures += 1
        case = ET.SubElement(suite, "testcase", {"classname": JUNIT_SUITE, "name": JUNIT_SUITE})
        ET.SubElement(case, "failure", {"type": "check", "message": _xml_text(_summary(result))})
    out = ET.SubElement(suite, "system-out")
    out.text = _xml_text(render_text(result))
    _counted(suite, tests, failures, errors, skipped)
    _counted(suites, tests, failures, errors, skipped)
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
