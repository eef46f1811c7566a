"""A sample of the hostile-name reports, loaded in headless Chromium.

The HTML-level fuzzing (test_report_fuzz.py) proves the markup holds; this
proves a browser agrees: no dialog fires, the console stays clean (a CSP
violation would be logged there), nothing is fetched, and the hostile names
are shown as text.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import reportcheck
from reportcheck import Names

from profiler_kit.analysis.aggregate import route_key

# The browser fixtures of tests/browser (one Chromium per session, pages that
# record console messages, errors, requests and dialogs), reused as they are.
_spec = importlib.util.spec_from_file_location(
    "pk_browser_fixtures", Path(__file__).resolve().parents[1] / "browser" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_fixtures = sys.modules.get(_spec.name) or importlib.util.module_from_spec(_spec)
if _spec.name not in sys.modules:
    sys.modules[_spec.name] = _fixtures  # dataclasses look their module up there
    _spec.loader.exec_module(_fixtures)
browser = _fixtures.browser
open_report = _fixtures.open_report

pytestmark = pytest.mark.browser

CASES = {
    "script-breakout": Names(
        function="</script><script>alert(1)</script>",
        file="/srv/</script><script>alert(2)</script>.py",
        route="/items/</script><script>alert(3)</script>",
        target="</script><script>alert(4)</script>",
        note="<script>alert(5)</script>",
    ),
    "attribute-breakout": Names(
        function='"><img src=x onerror=alert(1)>',
        file="/srv/'><svg onload=alert(2)>.py",
        route='/a"><img src=x onerror=alert(3)>',
        target="<img src=x onerror=alert(4)>",
        method="<b>GET</b>",
        host='" onmouseover="alert(5)',
        python="</title><script>alert(6)</script>",
    ),
    "separators-and-nul": Names(
        function="sep\u2028arator\u2029fn",
        file="/srv/nul\x00file.py",
        route="/line\u2028sep",
        target="nul\x00target",
        service="{{7*7}}${alert(1)}",
    ),
    "huge-names": Names(
        function="<script>" + "f" * 20_000,
        file="/srv/" + "d/" * 5_000 + "x.py",
        route="/" + "r" * 50_000,
        target="t" * 100_000,
    ),
}


@pytest.fixture
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pk-fuzz-browser-") as directory:
        yield Path(directory)


def _assert_inert(loaded: Any, report: Path) -> None:
    assert loaded.dialogs == [], f"a dialog fired: {loaded.dialogs}"
    assert loaded.problems() == [], loaded.problems()
    assert loaded.requests == [report.as_uri()], f"the report fetched: {loaded.requests}"
    assert loaded.page.evaluate("document.querySelectorAll('script').length") == 2
    assert loaded.page.evaluate("document.querySelectorAll('img, svg image, iframe').length") == 0


def _shown(loaded: Any, text: str) -> bool:
    """Whether the page shows ``text`` (visible text, or a title attribute for long names)."""
    visible = loaded.page.locator("body").inner_text()
    return text in visible or bool(
        loaded.page.evaluate(
            "t => [...document.querySelectorAll('[title],[data-name]')].some("
            "e => e.title === t || e.dataset.name === t)",
            text,
        )
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_capture_report_in_chromium(
    open_report: Callable[[Path], Any], scratch: Path, case: str
) -> None:
    names = CASES[case]
    html, data = reportcheck.capture_report(names)
    reportcheck.check_report_html(html, data, "capture", f"profiler-kit: {names.target}")
    report = scratch / "capture.html"
    report.write_text(html, encoding="utf-8")
    loaded = open_report(report)
    _assert_inert(loaded, report)
    if "\x00" not in names.function:
        assert _shown(loaded, names.function), "the hostile function name is not shown as text"


@pytest.mark.parametrize("case", sorted(CASES))
def test_aggregate_report_in_chromium(
    open_report: Callable[[Path], Any], scratch: Path, case: str
) -> None:
    names = CASES[case]
    html, data = reportcheck.aggregate_report(names, scratch, "<b>store</b>")
    reportcheck.check_report_html(html, data, "aggregate", data["title"])
    report = scratch / "aggregate.html"
    report.write_text(html, encoding="utf-8")
    loaded = open_report(report)
    _assert_inert(loaded, report)
    key = route_key(reportcheck.hostile_capture(names))
    if "\x00" not in key and len(key) < 1000:
        assert _shown(loaded, key), "the hostile route is not shown as text"
