"""The HTML report of one capture, opened in a real headless Chromium."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.store import open_store
from profiler_kit.store.ids import new_capture_id

pytestmark = pytest.mark.browser

Open = Callable[[Path], Any]


def test_report_renders_without_errors_or_network(open_report: Open, cpu_report: Path) -> None:
    """The report loads with no console errors, no CSP violations and no request but itself."""
    # WHEN the report is opened
    loaded = open_report(cpu_report)
    loaded.page.wait_for_selector("#hotspots-table tbody tr")
    # THEN the browser complained about nothing and fetched nothing else
    assert loaded.problems() == []
    assert loaded.requests == [cpu_report.as_uri()]


def test_hot_function_tops_the_hotspot_table(open_report: Open, cpu_report: Path) -> None:
    """The function that burned the most CPU is the first hotspot row and is visible."""
    loaded = open_report(cpu_report)
    first_row = loaded.page.locator("#hotspots-table tbody tr.hotspot-row").first
    assert first_row.get_attribute("data-name") == "burn_cpu_hotspot"
    assert first_row.is_visible()
    assert "burn_cpu_hotspot" in first_row.inner_text()


def test_hotspot_table_sorts_by_column(open_report: Open, cpu_report: Path) -> None:
    """Clicking the Total header sorts rows by total time, descending first."""
    page = open_report(cpu_report).page
    page.click("#hotspots-table th button.sort[data-key='total']")
    header = page.locator("#hotspots-table th", has=page.locator("button[data-key='total']"))
    assert header.get_attribute("aria-sort") in ("descending", "ascending")
    names = page.locator("#hotspots-table tbody tr.hotspot-row").evaluate_all(
        "rows => rows.map(r => r.dataset.name)"
    )
    # The module body encloses everything, so it has the largest total time.
    top = names[0] if header.get_attribute("aria-sort") == "descending" else names[-1]
    assert top == "<module>"


def test_call_tree_expands_and_collapses(open_report: Open, cpu_report: Path) -> None:
    """A collapsed tree node opens on click, showing its children, and closes again."""
    page = open_report(cpu_report).page
    page.click("#tree-collapse-all")
    root = page.locator("#tree .tree-node").first
    toggle = root.locator("button.tree-toggle").first
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.locator("#tree .tree-node").count() == 1
    # WHEN the root's toggle is clicked
    toggle.click()
    # THEN it is expanded and its children are in the page
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.locator("#tree .tree-node").count() > 1
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.locator("#tree .tree-node").count() == 1


def test_hot_path_is_open_at_load(open_report: Open, cpu_report: Path) -> None:
    """At load the tree is opened down to the hot function without any click."""
    page = open_report(cpu_report).page
    assert page.locator("#tree .tree-node[data-name='burn_cpu_hotspot']").count() >= 1


def test_flame_graph_zooms_on_click_and_resets(open_report: Open, cpu_report: Path) -> None:
    """Clicking a frame makes it span the whole graph; reset restores the full view."""
    page = open_report(cpu_report).page
    canvas = page.locator("#flame-canvas")
    frame = page.locator("#flame-canvas .flame-frame[data-name='burn_cpu_hotspot']").first
    canvas_width = canvas.bounding_box()["width"]
    before = frame.bounding_box()["width"]
    assert before < canvas_width * 0.98
    # WHEN the frame is clicked
    frame.click()
    # THEN it is zoomed: it spans the canvas and the canvas says what is zoomed
    assert canvas.get_attribute("data-zoom") == "burn_cpu_hotspot"
    zoomed = page.locator("#flame-canvas .flame-frame[data-name='burn_cpu_hotspot']").first
    assert zoomed.bounding_box()["width"] >= canvas_width * 0.95
    page.click("#flame-reset")
    assert not canvas.get_attribute("data-zoom")


def test_flame_tooltip_shows_details_on_hover(open_report: Open, cpu_report: Path) -> None:
    """Hovering a frame shows its name and location in the tooltip."""
    page = open_report(cpu_report).page
    page.hover("#flame-canvas .flame-frame[data-name='burn_cpu_hotspot']")
    tooltip = page.locator("#flame-tooltip")
    assert tooltip.is_visible()
    assert "burn_cpu_hotspot" in tooltip.inner_text()
    assert "target_app.py" in tooltip.inner_text()


def test_flame_search_highlights_matches(open_report: Open, cpu_report: Path) -> None:
    """Typing in the search box marks matching frames and dims the rest."""
    page = open_report(cpu_report).page
    page.fill("#flame-search", "burn_cpu")
    matches = page.locator("#flame-canvas .flame-frame.flame-match")
    assert matches.count() >= 1
    assert set(matches.evaluate_all("els => els.map(e => e.dataset.name)")) == {"burn_cpu_hotspot"}
    assert page.locator("#flame-canvas .flame-frame.flame-dim").count() >= 1


def test_hostile_function_name_is_text(
    open_report: Open, cpu_report: Path, hostile_name: str
) -> None:
    """A function named like an HTML tag is shown literally and runs nothing."""
    loaded = open_report(cpu_report)
    page = loaded.page
    page.wait_for_selector("#hotspots-table tbody tr")
    assert page.locator(f"#hotspots-table tr.hotspot-row[data-name='{hostile_name}']").count() == 1
    assert hostile_name in page.locator("#hotspots-table").inner_text()
    assert page.locator("img[src='x']").count() == 0
    page.hover(f"#flame-canvas .flame-frame[data-name='{hostile_name}']")
    assert loaded.dialogs == []
    assert loaded.problems() == []


def test_memory_section_shows_top_site(open_report: Open, memory_report: Path) -> None:
    """With --memory, the memory section lists the allocating function and its stack."""
    loaded = open_report(memory_report)
    page = loaded.page
    section = page.locator("#memory")
    assert section.is_visible()
    sites = page.locator("#memory-sites").inner_text()
    assert "keep_memory" in sites
    assert loaded.problems() == []


def test_memory_section_absent_without_memory(open_report: Open, cpu_report: Path) -> None:
    """Without --memory there is no memory section to look at."""
    page = open_report(cpu_report).page
    assert page.locator("#memory").count() == 0 or not page.locator("#memory").is_visible()


def test_trace_and_span_ids_are_shown(open_report: Open, cpu_report: Path) -> None:
    """A capture linked to a trace shows its trace id and span id; one without shows neither."""
    # GIVEN the CPU capture, stored again under a new id with trace ids
    trace_id, span_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    directory = cpu_report.parent
    with open_store(directory / "store.sqlite3", create=False) as store:
        (summary,) = store.summaries(1)
        original = store.get(summary.id)
    traced = original.replace(
        id=new_capture_id(original.started_at + 1), trace_id=trace_id, span_id=span_id
    )
    traced_store = directory / "traced.sqlite3"
    with open_store(traced_store) as store:
        store.add(traced)
    report = directory / "traced.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "profiler_kit",
            "report",
            "--store",
            str(traced_store),
            "--capture",
            traced.id,
            "-o",
            str(report),
        ],
        cwd=directory,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    # WHEN both reports are opened
    loaded = open_report(report)
    trace_card = loaded.page.locator(".card[data-key='trace']")
    # THEN the traced one names both ids, and the browser complained about nothing
    assert trace_card.locator(".card-value").inner_text() == trace_id
    assert trace_card.locator(".card-sub").inner_text() == f"span {span_id}"
    assert trace_card.is_visible()
    assert loaded.problems() == []
    assert open_report(cpu_report).page.locator(".card[data-key='trace']").count() == 0
