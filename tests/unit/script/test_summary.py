"""The terminal summary printed after a run."""

from __future__ import annotations

from pyinstrument.session import Session

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.capture.cpu import encode_session
from profiler_kit.capture.memory_summary import AllocationSite, MemorySummary, encode_summary
from profiler_kit.script.summary import render_summary
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture
from profiler_kit.units import format_bytes

MAIN = "main\x00/srv/app/main.py\x001"
HOT = "hot_loop\x00/srv/app/hot.py\x0042\x01cEngine"
COOL = "cool\x00/srv/app/cool.py\x007"
CALLER = "caller\x00/srv/app/caller.py\x003"


Records = list[tuple[list[str], float]]


def _view(memory: MemorySummary | None = None, records: Records | None = None) -> CaptureView:
    records = records if records is not None else [
        ([MAIN, CALLER, COOL], 1.0),
        ([MAIN, CALLER], 0.25),
        ([MAIN, HOT], 3.0),
        ([MAIN], 0.5),
    ]  # fmt: skip
    session = Session(
        frame_records=records, start_time=1_700_000_000.0, duration=5.0, min_interval=0.001,
        max_interval=0.001, sample_count=len(records), start_call_stack=[],
        target_description="job.py", cpu_time=4.0, sys_path=["/srv/app"], sys_prefixes=[],
    )  # fmt: skip
    capture = Capture(
        id=new_capture_id(1_700_000_000.0), kind="script", service="jobs", host="h", pid=1,
        started_at=1_700_000_000.0, wall_s=5.0, cpu_s=4.0, reason="script", target="job.py",
        exit_code=3, cpu_profile=encode_session(session),
        memory_profile=encode_summary(memory) if memory else None,
    )  # fmt: skip
    return CaptureView.load(capture)


def _section(text: str, title: str) -> list[str]:
    """The table rows under a section title, up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(title)
    rows = []
    for line in lines[start + 2 :]:  # skip the title and the column header
        if not line.strip():
            break
        rows.append(line)
    return rows


def test_hottest_function_heads_the_self_time_table() -> None:
    """The first row under "Top functions by self time" names the function with most self time."""
    text = render_summary(_view())
    rows = _section(text, "Top functions by self time")
    assert "Engine.hot_loop" in rows[0]
    assert "hot.py:42" in rows[0]
    assert f"{3.0 / (1.0 + 0.25 + 3.0 + 0.5):.1%}" in rows[0]  # its share of all samples
    assert len(rows) == 4


def test_total_time_table_is_headed_by_the_root_function() -> None:
    """The first row under "Top functions by total time" is the outermost function at 100 %."""
    rows = _section(render_summary(_view()), "Top functions by total time")
    assert " main " in rows[0]
    assert "100.0%" in rows[0]


def test_top_limits_rows() -> None:
    """top= limits each table to that many rows."""
    rows = _section(render_summary(_view(), top=2), "Top functions by self time")
    assert len(rows) == 2


def test_header_names_target_and_exit_status() -> None:
    """The first lines name the target, the sample count and the exit status."""
    text = render_summary(_view())
    assert text.splitlines()[0] == "profiler-kit: job.py"
    assert "4 samples" in text.splitlines()[1]
    assert "exit status 3" in text.splitlines()[1]


def test_long_rows_are_cut_to_width() -> None:
    """No table row is wider than width; cut rows end with an ellipsis."""
    long_name = "f" * 150
    records = [([f"{long_name}\x00/srv/app/x.py\x001"], 1.0)]
    text = render_summary(_view(records=records), width=60)
    rows = _section(text, "Top functions by self time")
    assert rows and all(len(row) <= 60 for row in rows)
    assert rows[0].endswith("…")


def test_memory_line_only_with_memory() -> None:
    """The Memory line and top sites appear when memory was captured, and not otherwise."""
    assert "Memory:" not in render_summary(_view())
    summary = MemorySummary(
        peak_bytes=20 * 1024 * 1024,
        total_bytes=64 * 1024 * 1024,
        allocations=12_345,
        leaked_bytes=2048,
        leaked_allocations=2,
        top_sites=[AllocationSite(20 * 1024 * 1024, 1, [("grow", "/srv/app/grow.py", 9)])],
        notes=["the target forked"],
    )
    text = render_summary(_view(summary))
    (memory_line,) = [line for line in text.splitlines() if line.startswith("Memory:")]
    assert f"peak {format_bytes(summary.peak_bytes)}" in memory_line
    assert "12,345 allocations" in memory_line
    assert any("grow" in line and "grow.py:9" in line for line in text.splitlines())
    assert "  note: the target forked" in text.splitlines()


def test_no_samples_message() -> None:
    """A capture with no CPU samples says so instead of printing empty tables."""
    text = render_summary(_view(records=[]))
    assert "no CPU samples" in text
    assert "Top functions" not in text
