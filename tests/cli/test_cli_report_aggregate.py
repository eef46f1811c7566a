"""``profiler-kit report`` over many captures: overview, embedded data, filters, diffs.

Stores are filled in-process with hand-made captures (known routes, wall
times and CPU profiles); the CLI then runs in a subprocess from ``tmp_path``
through the ``pk`` fixture of ``conftest.py``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from aggregate_captures import HANDLER, PLANTED, QUERY, T0, Records, iso, make_store
from aggregate_captures import make_capture as aggregate_capture

from profiler_kit.analysis.aggregate import route_key
from profiler_kit.store.record import Capture
from profiler_kit.testing import frame_string
from profiler_kit.units import counted

JOB = frame_string("nightly_main", "/app/jobs/nightly.py", 1)


def make_capture(
    wall: float, *, kind: str = "request", records: Records | None = None, **given: Any
) -> Capture:
    """A capture that spent half its wall time on CPU, by default all of it in handler → query."""
    return aggregate_capture(
        wall,
        kind=kind,
        cpu=wall / 2,
        records=records if records is not None else [([HANDLER, QUERY], wall / 2)],
        exit_code=None if kind == "request" else 0,
        **given,
    )


def overview_counts(stderr: str, keys: list[str]) -> dict[str, int]:
    """The N column of the terminal overview for each of ``keys`` (absent keys left out)."""
    counts = {}
    for line in stderr.splitlines():
        for key in keys:
            if line.startswith(key + " "):
                counts[key] = int(line[len(key) :].split()[0].replace(",", ""))
    return counts


def data_counts(data: dict[str, Any]) -> dict[str, int]:
    return {entry["key"]: entry["captures"] for entry in data["routes"]}


def frame_name(data: dict[str, Any], index: int) -> str:
    return str(data["frames"][index]["name"])


@pytest.fixture
def several_routes(pk: Any) -> list[Capture]:
    """The test's store holds four routes: three request routes and one script."""
    captures = [
        *(
            make_capture(w, route="/items/{id}", path=f"/items/{i}", started=T0 + i)
            for i, w in enumerate([0.050, 0.080, 0.120, 0.150, 0.220, 0.300])
        ),
        *(
            make_capture(w, route="/cart", method="POST", started=T0 + 10 + i)
            for i, w in enumerate([0.400, 0.500, 0.650])
        ),
        *(
            make_capture(w, route="/health", started=T0 + 20 + i)
            for i, w in enumerate([0.002, 0.003, 0.004, 0.005])
        ),
        *(
            make_capture(
                w, kind="script", target="jobs/nightly.py", records=[([JOB], w)],
                started=T0 + 30 + i,
            )
            for i, w in enumerate([2.0, 3.0])
        ),
    ]  # fmt: skip
    make_store(pk.store, captures)
    return captures


def test_report_overview_and_embedded_data(pk: Any, several_routes: list[Capture]) -> None:
    """Exit 0; the overview lists each route with its count; the HTML data has the same routes."""
    expected = Counter(route_key(c) for c in several_routes)
    assert len(expected) == 4  # GIVEN: four routes

    result = pk("report", "-o", "report.html", check_rc=0)

    pk.assert_no_traceback(result)
    assert f"{len(several_routes)} captures, {len(expected)} routes" in result.stderr
    assert overview_counts(result.stderr, list(expected)) == dict(expected)
    assert "report.html" in result.stderr
    data = pk.report_data(pk.cwd / "report.html")
    assert data["kind"] == "aggregate"
    assert data_counts(data) == dict(expected)
    assert data["totals"]["captures"] == len(several_routes)
    assert data["diff"] is None
    # worst p95 first: the two-capture script route, then POST /cart
    assert [entry["key"] for entry in data["routes"]][:2] == ["jobs/nightly.py", "POST /cart"]
    (job,) = [entry for entry in data["routes"] if entry["key"] == "jobs/nightly.py"]
    assert job["tree"]["t"] == pytest.approx(2.0 + 3.0)
    assert frame_name(data, job["hotspots"][0]["f"]) == "nightly_main"


def test_report_of_several_store_arguments(pk: Any) -> None:
    """Stores given as arguments are read together; a capture in both counts once."""
    shared = make_capture(0.1, route="/a")
    one = make_store(pk.cwd / "w1.sqlite3", [shared, make_capture(0.2, route="/a")])
    two = make_store(pk.cwd / "w2.sqlite3", [shared, make_capture(0.3, route="/b")])

    result = pk("report", one.name, two.name, "-o", "report.html", check_rc=0)

    assert "3 captures, 2 routes" in result.stderr
    assert data_counts(pk.report_data(pk.cwd / "report.html")) == {"GET /a": 2, "GET /b": 1}
    assert not pk.store.exists()  # the default store was not used (nor created)


@pytest.mark.parametrize(
    ("options", "keep"),
    [
        (("--route", "/items/*"), lambda c: (c.route or "").startswith("/items/")),
        (("--route", "jobs/*"), lambda c: c.kind == "script"),
        (("--min-duration", "100ms"), lambda c: c.wall_s >= 0.1),
        (("--min-duration", "0.5s"), lambda c: c.wall_s >= 0.5),
        (("--since", iso(T0 + 12)), lambda c: c.started_at >= T0 + 12),
        (("--until", iso(T0 + 12)), lambda c: c.started_at < T0 + 12),
        (
            ("--since", iso(T0 + 3), "--until", iso(T0 + 22), "--min-duration", "4ms"),
            lambda c: T0 + 3 <= c.started_at < T0 + 22 and c.wall_s >= 0.004,
        ),
    ],
    ids=["route", "route-target", "min-100ms", "min-0.5s", "since", "until", "combined"],
)
def test_report_filters(
    pk: Any, several_routes: list[Capture], options: tuple[str, ...], keep: Callable[..., bool]
) -> None:
    """--route, --min-duration, --since/--until choose exactly the matching captures."""
    expected = Counter(route_key(c) for c in several_routes if keep(c))
    assert 0 < sum(expected.values()) < len(several_routes)  # GIVEN: the filter filters

    result = pk("report", *options, "-o", "report.html", check_rc=0)

    data = pk.report_data(pk.cwd / "report.html")
    assert data_counts(data) == dict(expected)
    assert f"{sum(expected.values())} captures, {counted(len(expected), 'route')}" in result.stderr


def test_empty_selection_is_a_clear_error(pk: Any, several_routes: list[Capture]) -> None:
    """A selection that matches nothing says so, exits 2, and writes no report."""
    result = pk("report", "--route", "/no/such/*", "-o", "report.html")

    assert result.returncode == 2, pk.explain(result)
    assert "profiler-kit: error: no captures match" in result.stderr
    pk.assert_no_traceback(result)
    assert not (pk.cwd / "report.html").exists()


def _planted(walls: list[float], planted_s: float, start: float) -> list[Capture]:
    return [
        make_capture(
            w,
            route="/items/{id}",
            started=start + i,
            records=[([HANDLER], 0.004), ([HANDLER, PLANTED], planted_s)],
        )
        for i, w in enumerate(walls)
    ]


BASE_WALLS = [0.020, 0.022, 0.018, 0.025]
NOW_WALLS = [0.041, 0.039, 0.045, 0.040, 0.050]


def test_baseline_store_gives_a_diff(pk: Any) -> None:
    """--baseline STORE: data.diff names the planted slowdown and the p50 ratio of the route."""
    base = make_store(pk.cwd / "main.sqlite3", _planted(BASE_WALLS, 0.010, T0))
    now = make_store(
        pk.cwd / "branch.sqlite3",
        [*_planted(NOW_WALLS, 0.030, T0 + 100), make_capture(0.3, route="/new", started=T0 + 200)],
    )

    result = pk("report", now.name, "--baseline", base.name, "-o", "diff.html", check_rc=0)

    pk.assert_no_traceback(result)
    data = pk.report_data(pk.cwd / "diff.html")
    diff = data["diff"]
    assert diff is not None
    assert (diff["baseline_label"], diff["current_label"]) == ("main.sqlite3", "branch.sqlite3")
    (row,) = diff["routes"]
    assert row["key"] == "GET /items/{id}"
    assert row["ratio_p50"] == pytest.approx(
        statistics.median(NOW_WALLS) / statistics.median(BASE_WALLS)
    )
    (entry,) = [e for e in data["routes"] if e["key"] == "GET /items/{id}"]
    assert frame_name(data, entry["diff"]["functions"][0]["f"]) == "planted_slow"
    assert entry["diff"]["functions"][0]["delta_s"] == pytest.approx(0.020)
    assert data_counts(data) == {"GET /items/{id}": len(NOW_WALLS), "GET /new": 1}


def test_baseline_window_on_one_store(pk: Any) -> None:
    """--baseline-since/--baseline-until compare two time windows of the same store."""
    # GIVEN older captures outside both windows, the baseline window, then the current one
    older = _planted([0.7, 0.8, 0.9], 0.500, T0 - 5_000)
    before = _planted(BASE_WALLS, 0.010, T0)
    after = _planted(NOW_WALLS, 0.030, T0 + 1_000)
    make_store(pk.store, [*older, *before, *after])

    result = pk(
        "report",
        "--since", iso(T0 + 500),
        "--baseline-since", iso(T0),
        "--baseline-until", iso(T0 + 500),
        "-o", "windows.html",
        check_rc=0,
    )  # fmt: skip

    pk.assert_no_traceback(result)
    data = pk.report_data(pk.cwd / "windows.html")
    assert data_counts(data) == {"GET /items/{id}": len(after)}
    (row,) = data["diff"]["routes"]
    assert (row["base_captures"], row["new_captures"]) == (len(before), len(after))
    assert row["ratio_p50"] == pytest.approx(
        statistics.median(NOW_WALLS) / statistics.median(BASE_WALLS)
    )
    top = data["diff"]["functions"][0]
    assert frame_name(data, top["f"]) == "planted_slow"
    assert top["base_self_s"] == pytest.approx(0.010)
    assert top["new_self_s"] == pytest.approx(0.030)


def test_corrupt_payload_is_reported_and_report_written(pk: Any) -> None:
    """A capture with an unreadable profile is named on stderr as skipped; the report is written."""
    good = [make_capture(w, route="/ok") for w in (0.1, 0.2, 0.3)]
    bad = make_capture(0.4, route="/ok").replace(cpu_profile=b"\x00\x01 definitely not zlib")
    make_store(pk.store, [*good, bad])

    result = pk("report", "-o", "report.html", check_rc=0)

    pk.assert_no_traceback(result)
    assert "1 capture(s) could not be read and were skipped" in result.stderr
    assert bad.id in result.stderr
    data = pk.report_data(pk.cwd / "report.html")
    assert data["totals"]["skipped"] == 1
    assert data_counts(data) == {"GET /ok": len(good)}


def test_route_of_only_unreadable_captures_is_not_listed(pk: Any) -> None:
    """A route whose only capture was skipped is neither in the overview nor in the data."""
    good = [make_capture(w, route="/ok") for w in (0.1, 0.2)]
    bad = make_capture(0.4, route="/broken").replace(cpu_profile=b"not a profile")
    make_store(pk.store, [*good, bad])

    result = pk("report", "-o", "report.html", check_rc=0)

    assert "2 captures, 1 route" in result.stderr
    assert "GET /broken" not in overview_counts(result.stderr, ["GET /broken"])
    assert data_counts(pk.report_data(pk.cwd / "report.html")) == {"GET /ok": 2}
