"""The plain data of the many-capture report (aggregate_report_data), from hand-made captures.

Captures with known routes, wall times, statuses, CPU/GC times, CPU profiles
and memory summaries go into stores under ``tmp_path``; every expected value
is recomputed here from those inputs.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest
from aggregate_captures import (
    HANDLER,
    HELPER,
    PLANTED,
    QUERY,
    RENDER,
    T0,
    Records,
    Site,
    iso,
    make_capture,
    make_store,
    quantiles,
)
from report_reading import walk

from profiler_kit.analysis.aggregate import Aggregate, aggregate
from profiler_kit.analysis.calltree import FrameTable
from profiler_kit.reports.aggregate_data import DATA_VERSION, aggregate_report_data
from profiler_kit.store.record import Capture
from profiler_kit.testing import frame_string

HEALTH = frame_string("health", "/app/health.py", 2)


def build(tmp_path: Path, captures: list[Capture], name: str = "a.sqlite3") -> Aggregate:
    return aggregate([make_store(tmp_path / name, captures)])


def route_entry(data: dict[str, Any], key: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [r for r in data["routes"] if r["key"] == key]
    assert len(entries) == 1, f"{key!r} listed {len(entries)} times"
    return entries[0]


def frame_id(data: dict[str, Any], name: str) -> int:
    (index,) = [i for i, f in enumerate(data["frames"]) if f["name"] == name]
    return index


def child(node: dict[str, Any], frame_index: int) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in node.get("c", []) if c["f"] == frame_index]
    assert len(found) == 1, f"frame {frame_index} among children {found}"
    return found[0]


# -- per-route numbers ------------------------------------------------------------


def test_route_numbers(tmp_path: Path) -> None:
    """captures, errors, error_rate, percentiles, mean, max, cpu/gc means and peak of a route."""
    # GIVEN nine requests of one route, three of them errors (two 5xx, one flagged in extra)
    specs = [
        # wall, status, cpu, gc, error, peak
        (0.120, 200, 0.100, 0.010, None, 1_000),
        (0.050, 500, 0.040, None, None, None),
        (0.300, 200, 0.250, 0.030, None, 5_000),
        (0.080, 502, 0.060, 0.002, None, 2_000),
        (0.220, 201, 0.200, None, "TimeoutError", None),
        (0.500, 404, 0.450, 0.100, None, 4_000),
        (0.150, 499, 0.120, None, None, None),
        (0.013, 200, 0.010, 0.001, None, 9_000),
        (1.700, 200, 0.900, 0.200, None, 3_000),
    ]
    captures = [
        make_capture(w, status=s, cpu=c, gc=g, error=e, peak=p) for w, s, c, g, e, p in specs
    ]
    walls = [w for w, *_ in specs]

    # WHEN the report data is built
    data = aggregate_report_data(build(tmp_path, captures))

    # THEN the route's numbers are those of the inputs
    entry = route_entry(data, "GET /items/{id}")
    n = len(specs)
    errors = sum(1 for _, s, _, _, e, _ in specs if s >= 500 or e)
    assert errors == 3
    p50, p95, p99 = quantiles(walls)
    assert entry["method"] == "GET" and entry["route"] == "/items/{id}"
    assert entry["captures"] == n
    assert entry["errors"] == errors
    assert entry["error_rate"] == pytest.approx(errors / n)
    assert entry["p50_s"] == pytest.approx(p50)
    assert entry["p95_s"] == pytest.approx(p95)
    assert entry["p99_s"] == pytest.approx(p99)
    assert entry["mean_s"] == pytest.approx(statistics.fmean(walls))
    assert entry["max_s"] == max(walls)
    assert entry["cpu_mean_s"] == pytest.approx(sum(c for _, _, c, *_ in specs) / n)
    assert entry["gc_mean_s"] == pytest.approx(sum(g or 0.0 for _, _, _, g, _, _ in specs) / n)
    assert entry["peak_memory_max"] == max(p for *_, p in specs if p is not None)
    assert entry["diff"] is None


def test_totals_and_header(tmp_path: Path) -> None:
    """The totals count captures and routes and give the first and last start in UTC."""
    captures = [
        make_capture(0.1, route="/a", started=T0 + 10),
        make_capture(0.2, route="/b", started=T0 + 3_600),
        make_capture(0.3, route="/a", started=T0 + 95),
    ]

    data = aggregate_report_data(build(tmp_path, captures))

    assert data["version"] == DATA_VERSION
    assert data["kind"] == "aggregate"
    assert data["diff"] is None
    assert data["totals"] == {
        "captures": 3,
        "routes": 2,
        "first": iso(T0 + 10),
        "last": iso(T0 + 3_600),
        "skipped": 0,
    }
    assert "3 captures" in data["title"]
    json.dumps(data, allow_nan=False)  # plain data, embeddable as JSON


def test_routes_ordered_worst_p95_first(tmp_path: Path) -> None:
    """Routes come worst p95 first, whatever their names or capture counts."""
    walls = {
        "/fast": [0.010, 0.012, 0.011, 0.013],
        "/tail": [0.010, 0.011, 0.012, 0.9],  # low median, long tail
        "/slow": [0.300, 0.310, 0.320],
        "/mid": [0.050, 0.060, 0.070, 0.080, 0.090],
    }
    captures = [make_capture(w, route=r) for r, ws in walls.items() for w in ws]
    expected = sorted(walls, key=lambda r: quantiles(walls[r])[1], reverse=True)
    assert expected[0] == "/tail"  # GIVEN: p95, not the median, decides

    data = aggregate_report_data(build(tmp_path, captures))

    assert [entry["key"] for entry in data["routes"]] == [f"GET {r}" for r in expected]


def test_histogram_counts_sum_to_captures(tmp_path: Path) -> None:
    """Each route's histogram counts sum to its captures; edges span fastest to slowest."""
    walls = {
        "/spread": [0.001, 0.004, 0.02, 0.021, 0.3, 0.31, 0.9, 2.5, 2.5, 7.0],
        "/same": [0.25, 0.25, 0.25],
        "/one": [0.042],
    }
    captures = [make_capture(w, route=r) for r, ws in walls.items() for w in ws]

    data = aggregate_report_data(build(tmp_path, captures))

    for route, ws in walls.items():
        histogram = route_entry(data, f"GET {route}")["histogram"]
        assert sum(histogram["counts"]) == len(ws), route
        assert len(histogram["edges"]) == len(histogram["counts"]) + 1, route
        assert histogram["edges"][0] == pytest.approx(min(ws)), route
        assert histogram["edges"][-1] == pytest.approx(max(ws)), route
        assert histogram["edges"] == sorted(histogram["edges"]), route
    spread = route_entry(data, "GET /spread")["histogram"]
    assert spread["counts"][0] >= 1 and spread["counts"][-1] >= 1  # fastest and slowest bins


# -- trees and hotspots -----------------------------------------------------------


PROFILES: list[Records] = [
    [([HANDLER], 0.001), ([HANDLER, QUERY], 0.020), ([HANDLER, RENDER], 0.005)],
    [([HANDLER], 0.003), ([HANDLER, QUERY], 0.040)],
    [([HANDLER, RENDER], 0.007), ([HANDLER, RENDER, HELPER], 0.002)],
    [([HANDLER, HELPER, QUERY], 0.011), ([HANDLER], 0.004), ([HANDLER, QUERY], 0.001)],
    [([HANDLER, QUERY], 0.030)],
]


def test_merged_tree_and_hotspots(tmp_path: Path) -> None:
    """Root total is the route's sample time; hotspot self/total/captures are the sums of inputs."""
    captures = [make_capture(0.05 + i / 100, records=p) for i, p in enumerate(PROFILES)]
    other = make_capture(0.2, route="/other", records=[([HEALTH], 0.5)])

    data = aggregate_report_data(build(tmp_path, [*captures, other]))

    entry = route_entry(data, "GET /items/{id}")
    records = [record for profile in PROFILES for record in profile]
    total = sum(s for _, s in records)
    assert entry["tree"]["f"] == -1
    assert entry["tree"]["t"] == pytest.approx(total)  # the other route's 0.5 s is not here
    rows = {data["frames"][row["f"]]["name"]: row for row in entry["hotspots"]}
    assert set(rows) == {"handler", "query", "render", "helper"}
    for function in (HANDLER, QUERY, RENDER, HELPER):
        name = function.split("\x00")[0]
        own = sum(s for stack, s in records if stack[-1] == function)
        inclusive = sum(s for stack, s in records if function in stack)
        in_captures = sum(1 for p in PROFILES if any(function in stack for stack, _ in p))
        assert rows[name]["self_s"] == pytest.approx(own), name
        assert rows[name]["total_s"] == pytest.approx(inclusive), name
        assert rows[name]["self_share"] == pytest.approx(own / total), name
        assert rows[name]["total_share"] == pytest.approx(inclusive / total), name
        assert rows[name]["captures"] == in_captures, name
    self_times = [row["self_s"] for row in entry["hotspots"]]
    assert self_times == sorted(self_times, reverse=True)
    # the tree path handler -> query holds the samples with exactly that prefix
    handler = child(entry["tree"], frame_id(data, "handler"))
    query = child(handler, frame_id(data, "query"))
    assert handler["t"] == pytest.approx(total)
    assert query["t"] == pytest.approx(
        sum(s for stack, s in records if stack[:2] == [HANDLER, QUERY])
    )
    frame_row = data["frames"][frame_id(data, "query")]
    assert (frame_row["file"], frame_row["line"]) == ("/app/db.py", 42)


def test_tree_nodes_are_self_plus_children(tmp_path: Path) -> None:
    """Every node of a route's tree has total = self + children (time below the fold included)."""
    captures = [make_capture(0.05 + i / 100, records=p) for i, p in enumerate(PROFILES)]

    data = aggregate_report_data(build(tmp_path, captures))

    for node in walk(route_entry(data, "GET /items/{id}")["tree"]):
        children = node.get("c", [])
        assert node["t"] == pytest.approx(node["s"] + sum(c["t"] for c in children))


def test_slowest_captures_with_their_own_trees(tmp_path: Path) -> None:
    """'slowest' holds the 5 slowest captures of the route, slowest first, each with its tree."""
    walls = [0.31, 0.05, 0.92, 0.44, 0.12, 0.77, 0.08, 0.63]
    statuses = [200, 200, 500, 200, 201, 503, 200, 200]
    profiles = [
        [([HANDLER], w / 4), ([HANDLER, QUERY], w / 2 + i / 1000)] for i, w in enumerate(walls)
    ]
    captures = [
        make_capture(w, status=s, cpu=w / 3, records=p)
        for w, s, p in zip(walls, statuses, profiles, strict=True)
    ]
    # GIVEN the captures split over two stores (each slowest view is read from its own)
    store_a = make_store(tmp_path / "a.sqlite3", captures[::2])
    store_b = make_store(tmp_path / "b.sqlite3", captures[1::2])
    other = make_store(tmp_path / "other.sqlite3", [make_capture(5.0, route="/other")])

    data = aggregate_report_data(aggregate([store_a, store_b, other]))

    slowest = route_entry(data, "GET /items/{id}")["slowest"]
    order = sorted(range(len(walls)), key=lambda i: walls[i], reverse=True)[:5]
    assert [view["id"] for view in slowest] == [captures[i].id for i in order]
    for view, i in zip(slowest, order, strict=True):
        assert view["wall_s"] == walls[i]
        assert view["cpu_s"] == pytest.approx(walls[i] / 3)
        assert view["status"] == statuses[i]
        assert view["started_at"] == iso(captures[i].started_at)
        assert view["tree"]["t"] == pytest.approx(sum(s for _, s in profiles[i]))
        spots = {data["frames"][h["f"]]["name"]: h for h in view["hotspots"]}
        assert spots["query"]["self_s"] == pytest.approx(profiles[i][1][1])
        assert spots["handler"]["total_s"] == pytest.approx(sum(s for _, s in profiles[i]))


# -- memory ---------------------------------------------------------------------


def test_memory_sites_merge_across_captures(tmp_path: Path) -> None:
    """Sites with one stack add up bytes and counts across captures, heaviest first."""
    site_a = [("load", "/app/models.py", 12), ("handler", "/app/views.py", 10)]
    site_b = [("render", "/app/views.py", 30)]
    site_c = [("cache_fill", "/app/cache.py", 8)]
    memories: list[list[Site]] = [
        [(1_000, 2, site_a), (300, 1, site_b)],
        [(3_000, 5, site_a), (2_500, 4, site_c)],
        [(200, 1, site_b)],
        [],
    ]
    captures = [make_capture(0.1 * (i + 1), memory=m) for i, m in enumerate(memories)]

    data = aggregate_report_data(build(tmp_path, captures))

    sites = route_entry(data, "GET /items/{id}")["memory_sites"]
    expected: dict[tuple[str, ...], list[int]] = {}
    for memory in memories:
        for size, count, stack in memory:
            totals = expected.setdefault(tuple(name for name, _, _ in stack), [0, 0, 0])
            totals[0] += size
            totals[1] += count
            totals[2] += 1
    got = {
        tuple(f["name"] for f in site["stack"]): [site["bytes"], site["count"], site["captures"]]
        for site in sites
    }
    assert got == expected
    assert [site["bytes"] for site in sites] == sorted(
        (totals[0] for totals in expected.values()), reverse=True
    )
    load = next(site for site in sites if site["stack"][0]["name"] == "load")
    assert load["stack"][0] == {"name": "load", "file": "/app/models.py", "line": 12}


# -- differences ------------------------------------------------------------------


def _planted(tmp_path: Path) -> tuple[Aggregate, Aggregate, list[float], list[float]]:
    """Baseline: planted_slow costs 10 ms a request; current: 30 ms. Same frame table."""
    base_walls = [0.020, 0.022, 0.018, 0.025]
    now_walls = [0.041, 0.039, 0.045, 0.040, 0.050, 0.038]
    base = [
        make_capture(w, records=[([HANDLER], 0.004), ([HANDLER, PLANTED], 0.010)])
        for w in base_walls
    ]
    now = [
        make_capture(w, records=[([HANDLER], 0.004), ([HANDLER, PLANTED], 0.030)])
        for w in now_walls
    ]
    table = FrameTable()
    baseline = aggregate([make_store(tmp_path / "base.sqlite3", base)], table=table)
    current = aggregate([make_store(tmp_path / "now.sqlite3", now)], table=table)
    return current, baseline, now_walls, base_walls


def test_diff_finds_the_planted_slowdown(tmp_path: Path) -> None:
    """planted_slow at 10 ms then 30 ms a request: diff tree t/b, top function delta, p50 ratio."""
    current, baseline, now_walls, base_walls = _planted(tmp_path)

    data = aggregate_report_data(current, baseline, labels=("main", "branch"))

    planted = frame_id(data, "planted_slow")
    handler = frame_id(data, "handler")
    # the route's diff tree: per-request means now (t) and before (b)
    entry = route_entry(data, "GET /items/{id}")
    diff = entry["diff"]
    assert diff["baseline_captures"] == len(base_walls)
    assert diff["baseline_p50_s"] == pytest.approx(statistics.median(base_walls))
    assert diff["baseline_p95_s"] == pytest.approx(quantiles(base_walls)[1])
    assert diff["baseline_mean_s"] == pytest.approx(statistics.fmean(base_walls))
    root = diff["tree"]
    assert root["t"] == pytest.approx(0.034) and root["b"] == pytest.approx(0.014)
    node = child(child(root, handler), planted)
    assert node["t"] == pytest.approx(0.030)
    assert node["b"] == pytest.approx(0.010)
    assert diff["functions"][0]["f"] == planted
    assert diff["functions"][0]["delta_s"] == pytest.approx(0.020)
    # the report-wide diff
    top = data["diff"]["functions"][0]
    assert top["f"] == planted
    assert top["base_self_s"] == pytest.approx(0.010)
    assert top["new_self_s"] == pytest.approx(0.030)
    assert top["delta_s"] == pytest.approx(0.020)
    unchanged = next(row for row in data["diff"]["functions"] if row["f"] == handler)
    assert unchanged["delta_s"] == pytest.approx(0.0, abs=1e-12)
    (row,) = data["diff"]["routes"]
    assert row["key"] == "GET /items/{id}"
    assert row["ratio_p50"] == pytest.approx(
        statistics.median(now_walls) / statistics.median(base_walls)
    )
    assert row["base_p50_s"] == pytest.approx(statistics.median(base_walls))
    assert row["new_p50_s"] == pytest.approx(statistics.median(now_walls))
    assert (row["base_captures"], row["new_captures"]) == (len(base_walls), len(now_walls))
    assert (data["diff"]["baseline_label"], data["diff"]["current_label"]) == ("main", "branch")


def test_diff_only_for_routes_in_both(tmp_path: Path) -> None:
    """A route new in the current captures has no diff; one gone from them is not listed."""
    table = FrameTable()
    baseline = aggregate(
        [
            make_store(
                tmp_path / "base.sqlite3",
                [make_capture(0.1, route="/kept"), make_capture(0.2, route="/gone")],
            )
        ],
        table=table,
    )
    current = aggregate(
        [
            make_store(
                tmp_path / "now.sqlite3",
                [make_capture(0.3, route="/kept"), make_capture(0.4, route="/new")],
            )
        ],
        table=table,
    )

    data = aggregate_report_data(current, baseline)

    assert {entry["key"] for entry in data["routes"]} == {"GET /kept", "GET /new"}
    assert route_entry(data, "GET /new")["diff"] is None
    assert route_entry(data, "GET /kept")["diff"]["baseline_captures"] == 1
    assert [row["key"] for row in data["diff"]["routes"]] == ["GET /kept"]
    assert data["diff"]["routes"][0]["ratio_p50"] == pytest.approx(0.3 / 0.1)


def test_skipped_captures_are_counted_in_totals(tmp_path: Path) -> None:
    """A capture with an unreadable profile shows in totals.skipped, not in any route count."""
    good = [make_capture(w, records=[([HANDLER], w / 2)]) for w in (0.1, 0.2)]
    bad = make_capture(0.3).replace(cpu_profile=b"\x78\x9c broken")

    data = aggregate_report_data(build(tmp_path, [*good, bad]))

    assert data["totals"]["skipped"] == 1
    assert data["totals"]["captures"] == 2
    entry = route_entry(data, "GET /items/{id}")
    assert entry["captures"] == 2
    assert entry["tree"]["t"] == pytest.approx(0.15)
    assert bad.id not in [view["id"] for view in entry["slowest"]]
