"""``profiler-kit export collapsed``: ``a;b;c count`` lines as flamegraph.pl and inferno read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from profiler_kit.testing import frame_string as frame

MAIN = frame("main", "/app/main.py", 1)
HANDLER = frame("handler", "/app/views.py", 10)
QUERY = frame("query", "/app/db.py", 42)

HOSTILE_NAMES = [
    "evil;name;with;semicolons",
    "line\nbreak\r\nand more",
    "<script>alert(1)</script>",
    "tab\tand\u2028unicode line\x85breaks\x0b",
]


def by_stack(lines: list[tuple[list[str], int]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for frames, count in lines:
        counts[";".join(frames)] += count
    return counts


def test_frames_are_named_root_first_with_file_and_line(kit: Any) -> None:
    kit.make_store([kit.make_capture([([MAIN, HANDLER, QUERY], 0.25), ([MAIN, HANDLER], 0.5)])])
    lines = kit.collapsed(kit.export("collapsed"))
    assert lines == [
        (["main (/app/main.py:1)", "handler (/app/views.py:10)"], 500_000),
        (["main (/app/main.py:1)", "handler (/app/views.py:10)", "query (/app/db.py:42)"], 250_000),
    ]


def test_microseconds_and_samples_add_up_to_the_capture(kit: Any) -> None:
    """Counts are microseconds summing to the stored total, or with --unit samples, samples."""
    records = [([MAIN, HANDLER], 0.0013), ([MAIN, HANDLER, QUERY], 0.0011)] * 7 + [
        ([MAIN], 0.000_000_3)  # rounds to nothing alone
    ]
    kit.make_store([kit.make_capture(records)])
    seconds, samples = kit.stored_totals()
    micro = kit.collapsed(kit.export("collapsed"))
    assert sum(count for _, count in micro) == round(seconds * 1e6)
    counted = kit.collapsed(kit.export("collapsed", "--unit", "samples"))
    assert sum(count for _, count in counted) == samples == len(records)
    assert by_stack(counted) == {
        "main (/app/main.py:1);handler (/app/views.py:10)": 7,
        "main (/app/main.py:1);handler (/app/views.py:10);query (/app/db.py:42)": 7,
        "main (/app/main.py:1)": 1,
    }


def test_two_captures_aggregate_to_the_sum_of_each(kit: Any) -> None:
    first = kit.make_capture([([MAIN, HANDLER], 0.2), ([MAIN, HANDLER, QUERY], 0.1)])
    second = kit.make_capture([([MAIN, HANDLER, QUERY], 0.3), ([MAIN], 0.05)])
    kit.make_store([first, second])
    alone = [
        by_stack(kit.collapsed(kit.export("collapsed", "--capture", c.id, "--unit", "samples")))
        for c in (first, second)
    ]
    both = by_stack(kit.collapsed(kit.export("collapsed", "--unit", "samples")))
    assert both == alone[0] + alone[1]
    micro = by_stack(kit.collapsed(kit.export("collapsed")))
    assert micro == {
        "main (/app/main.py:1);handler (/app/views.py:10)": 200_000,
        "main (/app/main.py:1);handler (/app/views.py:10);query (/app/db.py:42)": 400_000,
        "main (/app/main.py:1)": 50_000,
    }


def test_hostile_names_keep_one_stack_per_line(kit: Any) -> None:
    """';', newlines and other line breaks in names cannot split frames or lines."""
    hostile = [frame(name, "/app/we;ird.py", 3 + i) for i, name in enumerate(HOSTILE_NAMES)]
    records = [([MAIN, evil], 0.01 * (i + 1)) for i, evil in enumerate(hostile)]
    records.append(([MAIN, *hostile], 0.1))
    kit.make_store([kit.make_capture(records)])
    output = kit.export("collapsed")
    assert output.read_bytes().count(b"\n") == len(records)
    lines = kit.collapsed(output)
    assert sorted(len(frames) for frames, _ in lines) == [2, 2, 2, 2, 1 + len(hostile)]
    labels = {label for frames, _ in lines for label in frames[1:]}
    assert labels == {
        "evil,name,with,semicolons (/app/we,ird.py:3)",
        "line\\nbreak\\r\\nand more (/app/we,ird.py:4)",
        "<script>alert(1)</script> (/app/we,ird.py:5)",
        "tab\\tand\\u2028unicode line\\x85breaks\\x0b (/app/we,ird.py:6)",
    }
    # Python's own line splitting (which knows every Unicode line break) agrees.
    assert len(output.read_text(encoding="utf-8").splitlines()) == len(records)
    assert sum(count for _, count in lines) == 200_000


def test_output_is_deterministic_and_sorted(kit: Any) -> None:
    records = [([MAIN, frame(f"f{i}", "/app/f.py", i)], 0.001 * (i + 1)) for i in (3, 1, 2)]
    kit.make_store([kit.make_capture(records), kit.make_capture(list(reversed(records)))])
    first = kit.export("collapsed").read_bytes()
    second = kit.export("collapsed").read_bytes()
    assert first == second
    lines = first.decode().splitlines()
    assert lines == sorted(lines)


def test_stdout(kit: Any) -> None:
    kit.make_store([kit.make_capture([([MAIN, HANDLER], 0.002)])])
    result = kit("export", "collapsed", "-o", "-", check_rc=0)
    assert result.stdout == "main (/app/main.py:1);handler (/app/views.py:10) 2000\n"
    assert result.stderr == "wrote 1 stack from 1 capture to standard output\n"


def test_real_run(kit: Any, real_store: tuple[Path, list[str]]) -> None:
    """A real ``profiler-kit run`` capture: the script's functions, root first."""
    store, (squares, _) = real_store
    lines = kit.collapsed(kit.export("collapsed", store, "--capture", squares))
    names = {label.split(" (")[0] for frames, _ in lines for label in frames}
    assert {"<module>", "outer", "inner"} <= names
    assert all(frames[0].startswith("<module> (") for frames, _ in lines)
    seconds, _ = kit.stored_totals(store, [squares])
    assert sum(count for _, count in lines) == round(seconds * 1e6)


def test_a_sample_without_frames_still_counts(kit: Any) -> None:
    """A sample whose frames all belonged to the profiler keeps its time under a placeholder."""
    kit.make_store([kit.make_capture([([], 0.004), ([MAIN], 0.001)])])
    assert kit.collapsed(kit.export("collapsed")) == [
        (["<no Python frames>"], 4000),
        (["main (/app/main.py:1)"], 1000),
    ]
