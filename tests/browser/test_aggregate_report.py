"""The many-capture (aggregate) HTML report, opened in a real headless Chromium.

The stores are made by hand from known stacks, so every expectation (which
function is hot on which route, which one got slower) is exact; the reports
themselves come from the real CLI.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.store import open_store
from profiler_kit.store.record import Capture
from profiler_kit.testing import frame_string as frame
from profiler_kit.testing import make_capture

pytestmark = pytest.mark.browser

Open = Callable[[Path], Any]
Records = list[tuple[list[str], float]]

HOSTILE = "<img src=x onerror=alert(1)>"  # the same payload as conftest's hostile_name
START = 1_700_000_000.0
TICK = 0.001  # one sample: 1 ms


ROOT = [frame("wsgi_app", "/srv/shop/server.py", 10), frame("dispatch", "/srv/shop/server.py", 40)]


@dataclass(frozen=True)
class RouteSpec:
    """A hand-made route: its handler, its hot function and how many captures it gets."""

    method: str
    route: str
    handler: str
    hot: str
    captures: int
    base_ms: int  # wall time of the fastest capture

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"


# Capture counts and latencies are chosen so that ordering by captures, by p95 and
# by name all differ: a sort that ignores its key cannot pass by accident.
ROUTES = [
    RouteSpec("GET", "/users/{id}", "users_view", "load_user_profile", 9, 12),
    RouteSpec("GET", "/search", "search_view", "rank_search_results", 4, 60),
    RouteSpec("POST", "/orders", "orders_view", "validate_order_items", 12, 30),
    RouteSpec("GET", "/reports/export", "export_view", "render_csv_rows", 6, 90),
    RouteSpec("GET", HOSTILE, "hostile_view", HOSTILE, 3, 20),
]
SEARCH = ROUTES[1]
HOSTILE_ROUTE = ROUTES[4]
CHECKOUT = "GET /checkout"


def route_records(spec: RouteSpec, wall_ms: int) -> Records:
    """Samples of one request: most time in the hot function, a little in a helper."""
    handler = frame(spec.handler, "/srv/shop/views.py", 100 + len(spec.handler))
    hot = frame(spec.hot, "/srv/shop/logic.py", 200 + len(spec.hot))
    helper = frame("format_response", "/srv/shop/views.py", 300)
    hot_ms = max(wall_ms * 3 // 4, 1)
    records: Records = [([*ROOT, handler, hot], TICK) for _ in range(hot_ms)]
    records += [([*ROOT, handler, helper], TICK) for _ in range(max(wall_ms - hot_ms - 1, 1))]
    records.append(([*ROOT, handler], TICK))
    return records


def checkout_records(slowdown_ms: int) -> Records:
    """One checkout request: the planted slowdown plus an unchanged function."""
    view = frame("checkout_view", "/srv/shop/checkout.py", 5)
    planted = frame("planted_slowdown", "/srv/shop/checkout.py", 50)
    tax = frame("compute_tax", "/srv/shop/checkout.py", 80)
    records: Records = [([*ROOT, view, planted], TICK) for _ in range(slowdown_ms)]
    records += [([*ROOT, view, tax], TICK) for _ in range(8)]
    return records


def capture(
    index: int, method: str, route: str, records: Records, *, path: str | None = None
) -> Capture:
    wall = sum(seconds for _, seconds in records)
    return make_capture(
        records,
        started_at=START + index,
        host="test-host",
        cpu_s=wall * 0.9,
        reason="sampled",
        target="shop.server:app",
        method=method,
        route=route,
        path=path or route,
    )


@dataclass
class Reports:
    overview: Path
    diff: Path
    # capture id -> wall seconds, per route key, as written to the store
    walls: dict[str, dict[str, float]]


def run_report(cwd: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "profiler_kit", "report", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """An overview report of five routes and a baseline-vs-current diff report."""
    tmp_path = tmp_path_factory.mktemp("aggregate-report")
    walls: dict[str, dict[str, float]] = {}
    captures = []
    index = 0
    for spec in ROUTES:
        for n in range(spec.captures):
            # Latencies grow with n, steeply for some routes, so p95 order != p50 order.
            wall_ms = spec.base_ms + n * (7 if spec.captures < 7 else 2)
            item = capture(index, spec.method, spec.route, route_records(spec, wall_ms))
            walls.setdefault(spec.key, {})[item.id] = item.wall_s
            captures.append(item)
            index += 1
    store = tmp_path / "shop.sqlite3"
    with open_store(store) as opened:
        opened.add_many(captures)

    base_store, current_store = tmp_path / "base.sqlite3", tmp_path / "current.sqlite3"
    for path, slowdown_ms in ((base_store, 10), (current_store, 30)):
        with open_store(path) as opened:
            opened.add_many(
                [
                    capture(index + n, "GET", "/checkout", checkout_records(slowdown_ms))
                    for n in range(6)
                ]
                + [
                    capture(index + 6 + n, "GET", "/users/{id}", route_records(ROUTES[0], 12))
                    for n in range(4)
                ]
            )
        index += 10

    overview, diff = tmp_path / "overview.html", tmp_path / "diff.html"
    run_report(tmp_path, str(store), "-o", str(overview))
    run_report(tmp_path, "--baseline", str(base_store), str(current_store), "-o", str(diff))
    return Reports(overview, diff, walls)


def load(open_report: Open, report: Path) -> Any:
    """Open a report; a missing element fails in 10 s rather than Playwright's 30 s."""
    loaded = open_report(report)
    loaded.page.set_default_timeout(10_000)
    return loaded


def embedded_data(page: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(page.locator("#profiler-kit-data").text_content())
    return data


def route_keys(page: Any) -> list[str]:
    keys: list[str] = page.locator("#routes-table tbody tr.route-row").evaluate_all(
        "rows => rows.map(r => r.dataset.key)"
    )
    return keys


def open_route(page: Any, key: str) -> None:
    """Click the route's row in the routes table (by its data-key, compared exactly)."""
    rows = page.locator("#routes-table tbody tr.route-row")
    index = route_keys(page).index(key)
    rows.nth(index).click()
    page.wait_for_function(
        "key => { const d = document.getElementById('drilldown');"
        " return !d.hidden && d.dataset.key === key; }",
        arg=key,
    )


def frame_names(page: Any, selector: str) -> list[str]:
    names: list[str] = page.locator(selector).evaluate_all("els => els.map(e => e.dataset.name)")
    return names


def rgb(css: str) -> tuple[int, ...]:
    match = re.match(r"rgba?\((\d+),\s*(\d+),\s*(\d+)", css)
    assert match, css
    return tuple(int(part) for part in match.groups())


def test_renders_without_errors_or_network(open_report: Open, reports: Reports) -> None:
    """Both reports render their routes with no console problem and no request but the file."""
    for report in (reports.overview, reports.diff):
        loaded = load(open_report, report)
        loaded.page.wait_for_selector("#routes-table tbody tr.route-row")
        assert loaded.problems() == []
        assert loaded.requests == [report.as_uri()]
        assert loaded.page.locator("#report-messages .note").count() == 0
        subtitle = loaded.page.locator("#report-subtitle").inner_text()
        counts = re.findall(r"([\d,]+) (captures?|routes?)\b", subtitle)
        assert len(counts) == 2, subtitle
        for count, noun in counts:
            assert noun.endswith("s") == (count != "1"), subtitle


@pytest.mark.parametrize("column, field", [("p95", "p95_s"), ("captures", "captures")])
def test_route_table_sorts_by_column(
    open_report: Open, reports: Reports, column: str, field: str
) -> None:
    """Clicking a sort button orders the rows by that value, descending then ascending."""
    page = load(open_report, reports.overview).page
    data = embedded_data(page)
    value = {route["key"]: route[field] for route in data["routes"]}
    assert len(set(value.values())) == len(value), "test data must have distinct values"
    descending = sorted(value, key=lambda key: value[key], reverse=True)
    button = page.locator(f"#routes-table th button.sort[data-key='{column}']")
    header = button.locator("xpath=ancestor::th[1]")
    # WHEN the column's sort button is clicked, THEN the largest value comes first
    button.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert route_keys(page) == descending
    # WHEN it is clicked again, THEN the order reverses
    button.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert route_keys(page) == descending[::-1]


def test_route_row_opens_drilldown_with_hot_function(open_report: Open, reports: Reports) -> None:
    """A route's drill-down shows that route's hot function in its flame graph and hotspots."""
    page = load(open_report, reports.overview).page
    for spec in (SEARCH, ROUTES[2]):
        open_route(page, spec.key)
        assert page.locator("#drilldown").is_visible()
        assert spec.hot in frame_names(page, "#route-flame-canvas .flame-frame")
        # Another route's hot function is not in this route's graph.
        others = {other.hot for other in ROUTES if other is not spec}
        assert not others & set(frame_names(page, "#route-flame-canvas .flame-frame"))
        first = page.locator("#route-hotspots tbody tr.hotspot-row").first
        assert first.get_attribute("data-name") == spec.hot
        assert spec.hot in first.inner_text()


def test_flame_search_marks_only_matching_frames(open_report: Open, reports: Reports) -> None:
    """Typing the hot function's name marks its frames .flame-match and dims every other."""
    page = load(open_report, reports.overview).page
    open_route(page, SEARCH.key)
    frames = page.locator("#route-flame-canvas .flame-frame")
    total = frames.count()
    assert total > 2
    page.fill("#route-flame-search", SEARCH.hot)
    matched = frame_names(page, "#route-flame-canvas .flame-frame.flame-match")
    dimmed = frame_names(page, "#route-flame-canvas .flame-frame.flame-dim")
    assert matched and set(matched) == {SEARCH.hot}
    assert SEARCH.hot not in dimmed
    assert len(matched) + len(dimmed) == total
    # Clearing the search removes every mark.
    page.fill("#route-flame-search", "")
    assert (
        page.locator("#route-flame-canvas .flame-match, #route-flame-canvas .flame-dim").count()
        == 0
    )


def test_slowest_capture_opens_its_own_view(open_report: Open, reports: Reports) -> None:
    """The slowest capture of a route opens with its own flame graph, and Back returns."""
    page = load(open_report, reports.overview).page
    spec = ROUTES[2]
    open_route(page, spec.key)
    walls = reports.walls[spec.key]
    slowest_id = max(walls, key=lambda cid: walls[cid])
    row = page.locator("#route-slowest tbody tr.capture-row").first
    assert row.get_attribute("data-id") == slowest_id
    # WHEN the capture is opened
    row.click()
    view = page.locator("#capture-view")
    assert view.is_visible()
    assert view.get_attribute("data-id") == slowest_id
    assert slowest_id in page.locator("#capture-title").inner_text()
    assert not page.locator("#route-body").is_visible()
    names = frame_names(page, "#capture-flame-canvas .flame-frame")
    assert spec.hot in names
    # THEN Back shows the route again
    page.click("#capture-back")
    assert not view.is_visible()
    assert view.get_attribute("data-id") is None
    assert page.locator("#route-body").is_visible()
    assert page.locator("#drilldown").get_attribute("data-key") == spec.key


def test_diff_marks_planted_slowdown_slower(open_report: Open, reports: Reports) -> None:
    """The diff drill-down paints the 3x slower function red and an unchanged one neutral."""
    loaded = load(open_report, reports.diff)
    page = loaded.page
    assert page.locator("#diff").is_visible()
    diff_keys = page.locator("#diff-routes tbody tr.diff-row").evaluate_all(
        "rows => rows.map(r => r.dataset.key)"
    )
    assert CHECKOUT in diff_keys
    changed = page.locator("#diff-routes tbody tr.diff-row").nth(diff_keys.index(CHECKOUT))
    assert "diff-slower" in (changed.get_attribute("class") or "")
    # WHEN the changed route is opened from the diff table
    changed.click()
    page.wait_for_function(
        "key => document.getElementById('drilldown').dataset.key === key", arg=CHECKOUT
    )
    assert page.locator("#route-diff").is_visible()
    # THEN the planted slowdown is slower, by about 20 ms per request, and reddish
    planted = page.locator("#diff-flame-canvas .flame-frame[data-name='planted_slowdown']").first
    assert "diff-slower" in (planted.get_attribute("class") or "").split()
    delta = float(planted.get_attribute("data-delta") or "nan")
    assert delta == pytest.approx(0.020, rel=0.05)
    red, _, blue = rgb(planted.evaluate("e => getComputedStyle(e).backgroundColor"))
    assert red > blue
    # AND the unchanged function is neither slower nor faster
    same = page.locator("#diff-flame-canvas .flame-frame[data-name='compute_tax']").first
    assert "diff-same" in (same.get_attribute("class") or "").split()
    assert abs(float(same.get_attribute("data-delta") or "nan")) < 1e-6
    first_change = page.locator("#route-diff-functions tbody tr").first
    assert first_change.get_attribute("data-name") == "planted_slowdown"
    assert loaded.problems() == []


def test_hostile_route_and_function_names_are_text(
    open_report: Open, reports: Reports, hostile_name: str
) -> None:
    """A route and a function named like an HTML tag show literally and run nothing."""
    assert hostile_name == HOSTILE
    loaded = load(open_report, reports.overview)
    page = loaded.page
    key = HOSTILE_ROUTE.key
    assert key in route_keys(page)
    assert hostile_name in page.locator("#routes-table").inner_text()
    open_route(page, key)
    assert hostile_name in page.locator("#drilldown-title").inner_text()
    assert hostile_name in frame_names(page, "#route-flame-canvas .flame-frame")
    first = page.locator("#route-hotspots tbody tr.hotspot-row").first
    assert first.get_attribute("data-name") == hostile_name
    assert first.locator(".fn").inner_text() == hostile_name
    hot = page.locator("#route-flame-canvas .flame-frame", has_text=hostile_name).first
    hot.hover()
    assert hostile_name in page.locator("#flame-tooltip").inner_text()
    page.locator("#route-slowest tbody tr.capture-row").first.click()
    assert hostile_name in frame_names(page, "#capture-flame-canvas .flame-frame")
    # No element was parsed out of the names, and nothing ran.
    assert page.locator("img").count() == 0
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert loaded.dialogs == []
    assert loaded.problems() == []
