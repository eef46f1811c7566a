"""The streaming aggregation of many captures (profiler_kit.analysis.aggregate.aggregate).

Every capture here is built by hand, with known routes, wall times, statuses,
CPU and GC times and CPU profiles, and put in a store under ``tmp_path``;
expectations are recomputed from those inputs, never copied from the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aggregate_captures import (
    HANDLER,
    HELPER,
    QUERY,
    RENDER,
    T0,
    Records,
    Site,
    make_capture,
    make_store,
    quantiles,
)

from profiler_kit.analysis.aggregate import SLOWEST_KEPT, aggregate, percentile, route_key
from profiler_kit.analysis.calltree import FrameTable
from profiler_kit.store import Selection
from profiler_kit.store.record import Capture


def durations_of(result: Any) -> list[float]:
    """Every folded wall time, over all routes, sorted."""
    return sorted(d for route in result.routes.values() for d in route.durations)


# -- per-route numbers ------------------------------------------------------------


def test_route_counters_and_durations(tmp_path: Path) -> None:
    """captures, errors (5xx or extra error), cpu/gc totals, peak max and durations per route."""
    # GIVEN one route with mixed statuses, an error flagged in extra, some gc and peaks
    specs = [
        # wall, status, cpu, gc, error, peak
        (0.120, 200, 0.100, 0.010, None, 1_000),
        (0.050, 500, 0.040, None, None, None),
        (0.300, 200, 0.250, 0.030, None, 5_000),
        (0.080, 503, 0.060, 0.002, None, 2_000),
        (0.220, 200, 0.200, None, "ValueError", None),
        (0.500, 404, 0.450, 0.100, None, 4_000),
        (0.150, 499, 0.120, None, None, None),
    ]
    captures = [
        make_capture(w, status=s, cpu=c, gc=g, error=e, peak=p) for w, s, c, g, e, p in specs
    ]
    store = make_store(tmp_path / "a.sqlite3", captures)

    # WHEN it is aggregated
    result = aggregate([store])

    # THEN the one route holds what was built in
    assert list(result.routes) == ["GET /items/{id}"]
    route = result.routes["GET /items/{id}"]
    assert route.captures == len(specs) == result.captures
    expected_errors = sum(1 for _, s, _, _, e, _ in specs if s >= 500 or e)
    assert expected_errors == 3
    assert route.errors == expected_errors
    assert route.cpu_total == pytest.approx(sum(c for _, _, c, _, _, _ in specs))
    assert route.gc_total == pytest.approx(sum(g or 0.0 for _, _, _, g, _, _ in specs))
    assert route.peak_memory_max == max(p for *_, p in specs if p is not None)
    assert route.sorted_durations() == sorted(w for w, *_ in specs)
    assert result.first == min(c.started_at for c in captures)
    assert result.last == max(c.started_at for c in captures)
    assert result.skipped == []


def test_script_errors_are_nonzero_exit_codes(tmp_path: Path) -> None:
    """Script captures are keyed by target and count a non-zero exit code as an error."""
    captures = [
        make_capture(1.0, kind="script", target="jobs/nightly.py", exit_code=0),
        make_capture(2.0, kind="script", target="jobs/nightly.py", exit_code=3),
        make_capture(3.0, kind="script", target="jobs/nightly.py", exit_code=None),
        make_capture(0.5, kind="script", target="jobs/hourly.py --fast", exit_code=1),
    ]
    store = make_store(tmp_path / "a.sqlite3", captures)

    result = aggregate([store])

    assert set(result.routes) == {"jobs/nightly.py", "jobs/hourly.py --fast"}
    nightly = result.routes["jobs/nightly.py"]
    assert (nightly.captures, nightly.errors) == (3, 1)
    assert nightly.method is None and nightly.route is None
    hourly = result.routes["jobs/hourly.py --fast"]
    assert (hourly.captures, hourly.errors) == (1, 1)


def test_routes_keyed_by_method_and_template(tmp_path: Path) -> None:
    """Two paths of one template merge; another method, or a path without template, is apart."""
    captures = [
        make_capture(0.1, route="/items/{id}", path="/items/1"),
        make_capture(0.2, route="/items/{id}", path="/items/2"),
        make_capture(0.3, route="/items/{id}", path="/items/3", method="POST"),
        make_capture(0.4, route=None, path="/health"),
        make_capture(0.5, route=None, path="/health"),
    ]
    store = make_store(tmp_path / "a.sqlite3", captures)

    result = aggregate([store])

    counts = {key: route.captures for key, route in result.routes.items()}
    assert counts == {"GET /items/{id}": 2, "POST /items/{id}": 1, "GET /health": 2}
    assert result.routes["POST /items/{id}"].method == "POST"
    assert result.routes["GET /items/{id}"].route == "/items/{id}"
    assert route_key(captures[0]) == "GET /items/{id}"


def test_percentile_matches_inclusive_quantiles() -> None:
    """percentile() is linear interpolation between closest ranks, as statistics computes it."""
    values = sorted([0.013, 0.2, 0.05, 0.7, 0.31, 0.031, 0.09, 1.5, 0.4, 0.11, 0.02])
    p50, p95, p99 = quantiles(values)
    assert percentile(values, 50) == pytest.approx(p50)
    assert percentile(values, 95) == pytest.approx(p95)
    assert percentile(values, 99) == pytest.approx(p99)
    assert percentile(values, 0) == values[0]
    assert percentile(values, 100) == values[-1]
    assert percentile([0.25], 95) == 0.25
    assert percentile([], 50) == 0.0


# -- CPU profiles ------------------------------------------------------------------


def test_identical_stacks_merge_across_captures(tmp_path: Path) -> None:
    """Fifty captures with the same three stacks keep three stack entries, with summed weights."""
    records: Records = [([HANDLER], 0.002), ([HANDLER, QUERY], 0.010), ([HANDLER, RENDER], 0.004)]
    count = 50
    store = make_store(
        tmp_path / "a.sqlite3",
        [make_capture(0.02 + i / 1000, records=records) for i in range(count)],
    )
    table = FrameTable()

    result = aggregate([store], table=table)

    route = result.routes["GET /items/{id}"]
    assert len(route.stack_weights) == len({tuple(stack) for stack, _ in records}) == 3
    names = {
        tuple(table.frames[i].name for i in stack): w for stack, w in route.stack_weights.items()
    }
    assert names[("handler",)] == pytest.approx(count * 0.002)
    assert names[("handler", "query")] == pytest.approx(count * 0.010)
    assert names[("handler", "render")] == pytest.approx(count * 0.004)
    # one frame per function, however many captures mention it
    assert sorted(f.name for f in table.frames) == ["handler", "query", "render"]


def test_tree_totals_and_frame_captures(tmp_path: Path) -> None:
    """The merged tree's root is all sample time; per-function times and capture counts add up."""
    profiles: list[Records] = [
        [([HANDLER], 0.001), ([HANDLER, QUERY], 0.020), ([HANDLER, RENDER], 0.005)],
        [([HANDLER], 0.003), ([HANDLER, QUERY], 0.040)],
        [([HANDLER, RENDER], 0.007), ([HANDLER, RENDER, HELPER], 0.002)],
        [([HANDLER, HELPER, QUERY], 0.011), ([HANDLER], 0.004), ([HANDLER, QUERY], 0.001)],
    ]
    store = make_store(
        tmp_path / "a.sqlite3", [make_capture(0.1 + i, records=p) for i, p in enumerate(profiles)]
    )
    table = FrameTable()

    result = aggregate([store], table=table)

    route = result.routes["GET /items/{id}"]
    tree = route.tree(table)
    all_records = [record for profile in profiles for record in profile]
    assert tree.total == pytest.approx(sum(seconds for _, seconds in all_records))
    ids = {info.name: index for index, info in enumerate(table.frames)}
    for function in (HANDLER, QUERY, RENDER, HELPER):
        name = function.split("\x00")[0]
        own = sum(s for stack, s in all_records if stack[-1] == function)
        inclusive = sum(s for stack, s in all_records if function in stack)
        in_captures = sum(1 for p in profiles if any(function in stack for stack, _ in p))
        assert tree.self_times.get(ids[name], 0.0) == pytest.approx(own), name
        assert tree.total_times[ids[name]] == pytest.approx(inclusive), name
        assert route.frame_captures[ids[name]] == in_captures, name


def test_capture_without_profile_still_counts(tmp_path: Path) -> None:
    """A capture with no CPU profile counts in the numbers and adds nothing to the tree."""
    records: Records = [([HANDLER], 0.010)]
    store = make_store(
        tmp_path / "a.sqlite3", [make_capture(0.1, records=records), make_capture(0.2)]
    )
    table = FrameTable()

    route = aggregate([store], table=table).routes["GET /items/{id}"]

    assert route.captures == 2
    assert route.tree(table).total == pytest.approx(0.010)
    assert route.frame_captures[0] == 1


def test_slowest_keeps_the_five_slowest(tmp_path: Path) -> None:
    """The route keeps the SLOWEST_KEPT slowest captures, slowest first, with their ids."""
    walls = [0.31, 0.05, 0.92, 0.44, 0.12, 0.77, 0.08, 0.63, 0.29]
    captures = [make_capture(w, records=[([HANDLER], w / 2)]) for w in walls]
    store = make_store(tmp_path / "a.sqlite3", captures)

    result = aggregate([store])

    slowest = result.routes["GET /items/{id}"].slowest_first()
    expected = sorted(captures, key=lambda c: c.wall_s, reverse=True)[:5]
    assert SLOWEST_KEPT == 5
    assert [(wall, cid) for wall, cid, _ in slowest] == [(c.wall_s, c.id) for c in expected]
    assert result.fetch(slowest[0][1], slowest[0][2]).wall_s == max(walls)


# -- memory ---------------------------------------------------------------------


def test_memory_sites_merge_across_captures(tmp_path: Path) -> None:
    """Allocation sites with the same stack add bytes and counts and count their captures."""
    site_a = [("load", "/app/models.py", 12), ("handler", "/app/views.py", 10)]
    site_b = [("render", "/app/views.py", 30)]
    memories: list[list[Site]] = [
        [(1_000, 2, site_a), (300, 1, site_b)],
        [(3_000, 5, site_a)],
        [],
    ]
    store = make_store(
        tmp_path / "a.sqlite3",
        [make_capture(0.1 * (i + 1), memory=m) for i, m in enumerate(memories)],
    )

    sites = aggregate([store]).routes["GET /items/{id}"].memory_sites

    assert set(sites) == {tuple(site_a), tuple(site_b)}
    assert sites[tuple(site_a)] == [1_000 + 3_000, 2 + 5, 2]
    assert sites[tuple(site_b)] == [300, 1, 1]


# -- selection, duplicates, damaged captures --------------------------------------


@pytest.fixture
def mixed_store(tmp_path: Path) -> tuple[Path, list[Capture]]:
    """Captures of two services and three routes over ten seconds, each wall time unique."""
    captures = [
        make_capture(0.011, route="/items/{id}", path="/items/1", started=T0 + 0),
        make_capture(0.120, route="/items/{id}", path="/items/2", started=T0 + 1),
        make_capture(0.250, route="/cart", started=T0 + 2, service="cart"),
        make_capture(0.033, route="/cart", started=T0 + 3, service="cart"),
        make_capture(0.470, route="/items/{id}", path="/items/3", started=T0 + 4),
        make_capture(0.090, route=None, path="/health", started=T0 + 5),
        make_capture(1.300, route="/cart", started=T0 + 6),
        make_capture(0.055, route="/items/{id}", path="/items/4", started=T0 + 7, service="cart"),
        make_capture(0.880, route=None, path="/health", started=T0 + 8),
        make_capture(0.101, route="/cart", started=T0 + 9),
    ]
    assert len({c.wall_s for c in captures}) == len(captures)
    return make_store(tmp_path / "mixed.sqlite3", captures), captures


@pytest.mark.parametrize(
    ("selection", "keep"),
    [
        (Selection(route="/items/*"), lambda c: (c.route or "").startswith("/items/")),
        (Selection(route="/items/3"), lambda c: c.path == "/items/3"),
        (Selection(since=T0 + 3), lambda c: c.started_at >= T0 + 3),
        (Selection(until=T0 + 3), lambda c: c.started_at < T0 + 3),
        (
            Selection(since=T0 + 2, until=T0 + 7),
            lambda c: T0 + 2 <= c.started_at < T0 + 7,
        ),
        (Selection(service="cart"), lambda c: c.service == "cart"),
        (Selection(min_duration_s=0.1), lambda c: c.wall_s >= 0.1),
        (
            Selection(route="/cart", service="shop", min_duration_s=0.2),
            lambda c: c.route == "/cart" and c.service == "shop" and c.wall_s >= 0.2,
        ),
    ],
    ids=["route-glob", "route-path", "since", "until", "window", "service", "min-duration", "all"],
)
def test_selection_chooses_exactly(
    mixed_store: tuple[Path, list[Capture]], selection: Selection, keep: Any
) -> None:
    """Each Selection filter folds exactly the captures it describes, and no others."""
    store, captures = mixed_store
    expected = [c for c in captures if keep(c)]
    assert 0 < len(expected) < len(captures)  # GIVEN: the filter really filters

    result = aggregate([store], selection)

    assert durations_of(result) == sorted(c.wall_s for c in expected)
    counts = {key: r.captures for key, r in result.routes.items()}
    expected_counts: dict[str, int] = {}
    for c in expected:
        expected_counts[route_key(c)] = expected_counts.get(route_key(c), 0) + 1
    assert counts == expected_counts


def test_capture_in_two_stores_counts_once(tmp_path: Path) -> None:
    """A capture present in two stores (collected twice) is folded once; the rest all count."""
    shared = make_capture(0.2, records=[([HANDLER], 0.1)])
    only_a = make_capture(0.3, records=[([HANDLER], 0.2)])
    only_b = make_capture(0.4, records=[([HANDLER], 0.3)])
    store_a = make_store(tmp_path / "a.sqlite3", [shared, only_a])
    store_b = make_store(tmp_path / "b.sqlite3", [shared, only_b])
    table = FrameTable()
    reads: list[int] = []

    result = aggregate([store_a, store_b], table=table, on_capture=lambda: reads.append(1))

    assert result.captures == 3
    assert durations_of(result) == [0.2, 0.3, 0.4]
    route = result.routes["GET /items/{id}"]
    assert route.tree(table).total == pytest.approx(0.1 + 0.2 + 0.3)
    assert route.frame_captures[0] == 3
    assert len(reads) == 4  # the progress callback sees every row read, duplicates included
    assert result.sources == [store_a, store_b]


def test_corrupt_profile_is_skipped_and_the_rest_counts(tmp_path: Path) -> None:
    """A capture whose CPU profile cannot be decoded is listed in skipped; others still count."""
    good = [
        make_capture(w, cpu=w / 4, records=[([HANDLER, QUERY], w / 2)]) for w in (0.1, 0.2, 0.3)
    ]
    bad = make_capture(9.9, status=500, cpu=5.0, cpu_profile=b"\x00not a profile\xff")
    store = make_store(tmp_path / "a.sqlite3", [*good[:2], bad, good[2]])
    table = FrameTable()

    result = aggregate([store], table=table)

    assert len(result.skipped) == 1
    assert result.skipped[0].startswith(bad.id)
    route = result.routes["GET /items/{id}"]
    assert route.captures == 3
    assert route.errors == 0  # the broken capture's 500 was not counted
    assert route.sorted_durations() == [0.1, 0.2, 0.3]
    assert route.cpu_total == pytest.approx((0.1 + 0.2 + 0.3) / 4)
    assert route.tree(table).total == pytest.approx((0.1 + 0.2 + 0.3) / 2)
    assert bad.id not in [cid for _, cid, _ in route.slowest_first()]


def test_corrupt_memory_summary_is_skipped(tmp_path: Path) -> None:
    """A capture whose memory summary cannot be decoded is skipped whole, CPU included."""
    good = make_capture(0.1, records=[([HANDLER], 0.05)])
    bad = make_capture(0.2, records=[([HANDLER], 0.07)]).replace(memory_profile=b"garbage")
    store = make_store(tmp_path / "a.sqlite3", [good, bad])
    table = FrameTable()

    result = aggregate([store], table=table)

    assert [line.split(":")[0] for line in result.skipped] == [bad.id]
    route = result.routes["GET /items/{id}"]
    assert route.captures == 1
    assert route.tree(table).total == pytest.approx(0.05)


def test_route_of_only_skipped_captures_is_not_listed(tmp_path: Path) -> None:
    """A route whose every capture was skipped does not appear among the routes."""
    good = make_capture(0.1, route="/items/{id}", records=[([HANDLER], 0.05)])
    bad = make_capture(0.2, route="/broken", cpu_profile=b"garbage")
    store = make_store(tmp_path / "a.sqlite3", [good, bad])

    result = aggregate([store])

    assert len(result.skipped) == 1
    assert list(result.routes) == ["GET /items/{id}"]


@pytest.mark.parametrize("gc_value", ["n/a", [0.1]], ids=["string", "list"])
def test_malformed_gc_time_never_half_counts_a_capture(tmp_path: Path, gc_value: Any) -> None:
    """A capture whose extra gc_s is not a number is counted whole (gc 0) or skipped whole."""
    good = make_capture(0.1, cpu=0.05, records=[([HANDLER], 0.05)])
    odd = make_capture(0.3, status=500, cpu=0.2, records=[([HANDLER], 0.07)])
    odd.extra["gc_s"] = gc_value
    store = make_store(tmp_path / "a.sqlite3", [good, odd])

    result = aggregate([store])

    route = result.routes["GET /items/{id}"]
    assert route.captures == len(route.durations)  # every counted capture has its duration
    if result.skipped:  # skipped whole: nothing of it was counted
        assert [line.split(":")[0] for line in result.skipped] == [odd.id]
        assert (route.captures, route.errors) == (1, 0)
        assert route.cpu_total == pytest.approx(0.05)
    else:  # counted whole, its GC time read as nothing
        assert (route.captures, route.errors) == (2, 1)
        assert route.cpu_total == pytest.approx(0.25)
