"""The report front end's files and the pure functions its components share.

The front end is joined from one file per component (see ``reports/render.py``);
these tests pin the join (every file listed and present, nothing defined twice)
and run the shared functions in Chromium, the only JavaScript engine the test
machines have, through a rendered report.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.reports.render import AGGREGATE_PAGE, CAPTURE_PAGE, render_aggregate_report

pytestmark = pytest.mark.browser

Open = Callable[[Path], Any]
PAGES = (CAPTURE_PAGE, AGGREGATE_PAGE)


def _static_names(suffix: str) -> set[str]:
    static = resources.files("profiler_kit.reports") / "static"
    return {entry.name for entry in static.iterdir() if entry.name.endswith(suffix)}


def test_every_static_file_is_joined_into_a_page_and_exists() -> None:
    listed_scripts = {name for page in PAGES for name in page.scripts}
    listed_styles = {name for page in PAGES for name in page.styles}
    assert listed_scripts == _static_names(".js")
    assert listed_styles == _static_names(".css")
    for page in PAGES:
        assert len(set(page.scripts)) == len(page.scripts), page.template
        assert page.scripts[0] == "util.js", "util.js creates the namespace the others add to"


@pytest.fixture
def components(tmp_path: Path, open_report: Open) -> Any:
    """A page with every component loaded (an empty aggregate report)."""
    report = tmp_path / "components.html"
    data = {"version": 1, "kind": "aggregate", "title": "components", "frames": [], "routes": []}
    report.write_text(render_aggregate_report(data), encoding="utf-8")
    loaded = open_report(report)
    assert loaded.problems() == []
    return loaded.page


def test_namespace_is_frozen_once_the_page_boots(components: Any) -> None:
    assert components.evaluate("Object.isFrozen(window.ProfilerKit)") is True


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("formatDuration(0)", "0 s"),
        ("formatDuration(0.0005)", "500 µs"),
        ("formatDuration(0.0123)", "12.3 ms"),
        ("formatDuration(75)", "1 min 15 s"),
        ("formatDuration(3725)", "1 h 2 min"),
        ("formatDuration(null)", "—"),
        ("formatSignedDuration(0.25)", "+250 ms"),
        ("formatBytes(1536)", "1.50 KiB"),
        ("formatPct(0.0004)", "<0.1%"),
        ("formatPct(0.5)", "50.0%"),
        ("counted(1, 'capture')", "1 capture"),
        ("counted(2000, 'capture')", "2,000 captures"),
        ("formatChange(2, 3)", "+50%"),
        ("formatChange(2, 1)", "−50%"),
        ("formatChange(0, 1)", "new"),
        ("formatRatio(1.5)", "×1.50"),
        ("formatSpan(90000)", "1 day 1 h"),
    ],
)
def test_formatting(components: Any, expression: str, expected: str) -> None:
    shown = components.evaluate(f"(PK => PK.{expression})(window.ProfilerKit)")
    assert shown == expected


def test_frame_model_orders_children_and_tolerates_damaged_data(components: Any) -> None:
    model = components.evaluate(
        """() => {
          const PK = window.ProfilerKit;
          const frameAt = PK.frameTable([
            {name: 'a', file: 'app.py', line: 3, app: true}, {name: 'b'},
          ]);
          const tree = {f: -1, t: 3, c: [
            {f: 1, t: 1}, {f: 0, t: 2, s: -1, c: [{f: 9, t: 0.5}, 'junk']},
          ]};
          const m = PK.buildModel(tree, 'all', frameAt, {requests: 0});
          const heavy = m.root.children[0];
          return {
            root: m.root.frame.name, total: m.total, requests: m.requests,
            order: m.root.children.map((c) => c.frame.name),
            heavySelf: heavy.s, location: PK.frameLocation(heavy.frame),
            grandchildren: heavy.children.map((c) => [c.frame.name, c.depth, c.parent === heavy]),
          };
        }"""
    )
    assert model == {
        "root": "all",
        "total": 3,
        "requests": 1,
        "order": ["a", "b"],
        "heavySelf": 0,
        "location": "app.py:3",
        "grandchildren": [["(unknown frame)", 2, True]],
    }


@pytest.mark.parametrize(
    ("now", "before", "verdict"),
    [
        (1.2, 1.0, "slower"),
        (0.8, 1.0, "faster"),
        (1.05, 1.0, "same"),
        (1.0, 0.0, "slower"),
        (0.0, 0.0, "same"),
        (2e-7, 1e-7, "same"),
    ],
)
def test_diff_verdict(components: Any, now: float, before: float, verdict: str) -> None:
    shown = components.evaluate("([t, b]) => window.ProfilerKit.diffClass(t, b)", [now, before])
    assert shown == verdict
