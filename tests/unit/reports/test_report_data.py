"""The plain data behind a capture's HTML report (capture_report_data)."""

from __future__ import annotations

from typing import Any

import pytest
from pyinstrument.session import Session
from report_reading import walk

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.capture.cpu import encode_session
from profiler_kit.capture.memory_summary import AllocationSite, MemorySummary, encode_summary
from profiler_kit.reports.capture_data import DATA_VERSION, MIN_NODE_SHARE, capture_report_data
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture

APP = "/srv/app"
MAIN = f"main\x00{APP}/main.py\x001"
WORK = f"work\x00{APP}/work.py\x0010\x01cWorker"
LEAF = f"crunch\x00{APP}/work.py\x0030"
TINY = f"tiny\x00{APP}/tiny.py\x005"
LIB = "loads\x00/usr/lib/python3.11/json/__init__.py\x00299"

# (root-first stack, seconds); TINY is far below the fold threshold of the total.
RECORDS: list[tuple[list[str], float]] = [
    ([MAIN], 0.5),
    ([MAIN, WORK], 1.0),
    ([MAIN, WORK, LEAF], 6.0),
    ([MAIN, WORK, LIB], 2.5),
    ([MAIN, TINY], 0.001),
]
TOTAL = sum(seconds for _, seconds in RECORDS)


def _view(memory: MemorySummary | None = None, **changes: Any) -> CaptureView:
    session = Session(
        frame_records=RECORDS,
        start_time=1_700_000_000.0,
        duration=TOTAL,
        min_interval=0.001,
        max_interval=0.001,
        sample_count=len(RECORDS),
        start_call_stack=[],
        target_description="job.py",
        cpu_time=TOTAL,
        sys_path=[APP, "/usr/lib/python3.11"],
        sys_prefixes=["/usr"],
    )
    capture = Capture(
        id=new_capture_id(1_700_000_000.0),
        kind="script",
        service="jobs",
        host="worker-3",
        pid=77,
        started_at=1_700_000_000.0,
        wall_s=TOTAL + 0.25,
        cpu_s=TOTAL,
        reason="script",
        target="job.py --fast",
        exit_code=0,
        cpu_profile=encode_session(session),
        memory_profile=encode_summary(memory) if memory else None,
        extra={"interval": 0.001, "python": "3.11.7"},
    )
    return CaptureView.load(capture.replace(**changes))


def _names(data: dict[str, Any]) -> list[str]:
    return [frame["name"] for frame in data["frames"]]


def test_capture_section_copies_the_capture() -> None:
    """The capture section carries id, target, times, samples, interval and python from extra."""
    view = _view()
    data = capture_report_data(view)
    capture = data["capture"]
    assert data["version"] == DATA_VERSION
    assert data["title"].endswith(view.capture.target)
    assert capture["id"] == view.capture.id
    assert capture["target"] == view.capture.target
    assert capture["wall_s"] == view.capture.wall_s
    assert capture["samples"] == len(RECORDS)
    assert capture["interval_s"] == view.capture.extra["interval"]
    assert capture["python"] == view.capture.extra["python"]
    assert capture["started_at"] == "2023-11-14T22:13:20Z"  # 1_700_000_000 in UTC


def test_hotspot_shares() -> None:
    """Each hotspot's shares are its times over the run total; self shares sum to 1."""
    data = capture_report_data(_view())
    hotspots = data["hotspots"]
    assert len(hotspots) == len(data["frames"])
    assert sum(h["self_share"] for h in hotspots) == pytest.approx(1.0)
    for spot in hotspots:
        assert spot["self_share"] == pytest.approx(spot["self_s"] / TOTAL)
        assert spot["total_share"] == pytest.approx(spot["total_s"] / TOTAL)
    names = _names(data)
    assert names[hotspots[0]["f"]] == "crunch"
    assert hotspots[0]["self_s"] == pytest.approx(6.0)
    main = next(h for h in hotspots if names[h["f"]] == "main")
    assert main["total_share"] == pytest.approx(1.0)
    assert [h["self_s"] for h in hotspots] == sorted((h["self_s"] for h in hotspots), reverse=True)


def test_tree_totals_match_root() -> None:
    """The tree root total is the run total and every node's time equals self plus children."""
    view = _view()
    data = capture_report_data(view)
    tree = data["tree"]
    assert tree["f"] == -1
    assert tree["t"] == pytest.approx(TOTAL) == pytest.approx(view.tree.total)
    assert sum(child["t"] for child in tree["c"]) == pytest.approx(tree["t"] - tree["s"])
    for node in walk(tree):
        children = node.get("c", [])
        assert node["t"] == pytest.approx(node["s"] + sum(c["t"] for c in children))


def test_small_nodes_are_folded_into_parent_self_time() -> None:
    """A node below MIN_NODE_SHARE of the total is dropped and its time added to parent self."""
    data = capture_report_data(_view())
    names = _names(data)
    assert TOTAL * MIN_NODE_SHARE > 0.001  # GIVEN: tiny is below the threshold
    nodes = walk(data["tree"])
    assert "tiny" not in [names[n["f"]] for n in nodes if n["f"] >= 0]
    (main,) = [n for n in nodes if n["f"] >= 0 and names[n["f"]] == "main"]
    assert main["s"] == pytest.approx(0.5 + 0.001)
    assert {names[c["f"]] for c in main["c"]} == {"Worker.work"}
    # The frame itself is still listed with its own hotspot row
    assert "tiny" in names


def test_frames_use_short_paths_and_app_flags() -> None:
    """Frame files are shortened against the profile's sys.path; library code is not app code."""
    data = capture_report_data(_view())
    frames = {frame["name"]: frame for frame in data["frames"]}
    assert frames["Worker.work"]["file"] == "work.py"
    assert frames["Worker.work"]["line"] == 10
    assert frames["Worker.work"]["app"] is True
    assert frames["loads"]["file"] == "json/__init__.py"
    assert frames["loads"]["app"] is False


def test_memory_section_absent_without_memory() -> None:
    """Without a memory payload the memory section is None."""
    assert capture_report_data(_view())["memory"] is None


def test_memory_section_present_with_memory() -> None:
    """With a memory payload the section copies the totals and shortens site files."""
    summary = MemorySummary(
        peak_bytes=2048,
        total_bytes=4096,
        allocations=5,
        leaked_bytes=16,
        leaked_allocations=1,
        top_sites=[AllocationSite(2048, 2, [("crunch", f"{APP}/work.py", 33)])],
        leaks=[AllocationSite(16, 1, [("main", f"{APP}/main.py", 3)])],
        notes=["note one"],
    )
    memory = capture_report_data(_view(summary))["memory"]
    assert memory["peak_bytes"] == summary.peak_bytes
    assert memory["total_bytes"] == summary.total_bytes
    assert memory["leaked_bytes"] == summary.leaked_bytes
    assert memory["notes"] == summary.notes
    assert memory["top_sites"] == [
        {"bytes": 2048, "count": 2, "stack": [{"name": "crunch", "file": "work.py", "line": 33}]}
    ]
    assert memory["leaks"][0]["stack"][0]["file"] == "main.py"


def test_no_cpu_profile_gives_empty_tree() -> None:
    """A capture without CPU samples gives a zero tree and no hotspots, without dividing by zero."""
    data = capture_report_data(_view(cpu_profile=None))
    assert data["tree"] == {"f": -1, "t": 0.0, "s": 0.0}
    assert data["hotspots"] == []
    assert data["frames"] == []
