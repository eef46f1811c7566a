"""Bad input to ``profiler-kit export``: one clear line, a non-zero exit, no traceback, no file."""

from __future__ import annotations

from typing import Any

import pytest

from profiler_kit.store import open_store
from profiler_kit.testing import frame_string as frame

FORMATS = ["speedscope", "collapsed", "pprof"]
MAIN = frame("main", "/app/main.py", 1)


def assert_one_line_error(kit: Any, result: Any, *needles: str) -> None:
    """Exit 2 and exactly one stderr line, ``profiler-kit: error: ...`` naming ``needles``."""
    assert result.returncode == 2, kit.explain(result, "expected exit 2")
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("profiler-kit: error: "), kit.explain(
        result, "one error line"
    )
    for needle in needles:
        assert needle in lines[0], kit.explain(result, f"{needle!r} in the error")
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


@pytest.fixture
def seeded(kit: Any) -> str:
    capture = kit.make_capture([([MAIN], 0.01)], target="seed.py")
    kit.make_store([capture])
    return str(capture.id)


@pytest.mark.parametrize("fmt", FORMATS)
def test_filters_matching_nothing(kit: Any, seeded: str, fmt: str) -> None:
    output = kit.cwd / "out"
    result = kit("export", fmt, "--route", "/no/such/*", "-o", output)
    assert_one_line_error(kit, result, "no captures in", str(kit.store), "--route", "widen")
    assert not output.exists()


def test_empty_store(kit: Any) -> None:
    open_store(kit.store).close()
    output = kit.cwd / "out.json"
    result = kit("export", "speedscope", "-o", output)
    assert_one_line_error(kit, result, "holds no captures yet", "profiler-kit run")
    assert not output.exists()
    result = kit("export", "collapsed", "--latest", "-o", output)
    assert_one_line_error(kit, result, "holds no captures yet")


def test_missing_store(kit: Any) -> None:
    result = kit("export", "pprof", kit.cwd / "nowhere.sqlite3", "-o", kit.cwd / "out.pb.gz")
    assert_one_line_error(kit, result, "no capture store at", "nowhere.sqlite3")
    assert not (kit.cwd / "nowhere.sqlite3").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_capture_id(kit: Any, seeded: str, fmt: str) -> None:
    output = kit.cwd / "out"
    result = kit("export", fmt, "--capture", seeded, "--capture", "ZZZZNOTANID", "-o", output)
    assert_one_line_error(kit, result, "no capture 'ZZZZNOTANID'", "profiler-kit ls")
    assert not output.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_unwritable_output(kit: Any, seeded: str, fmt: str) -> None:
    blocker = kit.cwd / "a-file"
    blocker.write_text("not a directory\n")
    result = kit("export", fmt, "-o", blocker / "out")
    assert_one_line_error(kit, result, "cannot write", str(blocker / "out"), "Not a directory")
    result = kit("export", fmt, "-o", kit.cwd / "missing-dir" / "out")
    assert_one_line_error(kit, result, "cannot write", "No such file or directory")


def test_directory_as_output(kit: Any, seeded: str) -> None:
    result = kit("export", "collapsed", "-o", kit.cwd)
    assert result.returncode == 2, kit.explain(result, "expected exit 2")
    assert "is a directory" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--capture", "X", "--route", "/a"], "--capture and --latest choose captures themselves"),
        (["--latest", "--since", "2h"], "--capture and --latest choose captures themselves"),
        (["--capture", "X", "--latest"], "give --capture or --latest, not both"),
        (["--since", "yesterday-ish"], "neither an ISO date/time"),
        (["--unit", "furlongs"], "'furlongs' is not one of"),
    ],
)
def test_usage_errors(kit: Any, seeded: str, args: list[str], message: str) -> None:
    result = kit("export", "collapsed", *args, "-o", kit.cwd / "out.txt")
    assert result.returncode == 2, kit.explain(result, "expected exit 2")
    assert message in result.stderr, kit.explain(result, message)
    assert "Traceback" not in result.stderr
    assert not (kit.cwd / "out.txt").exists()


def test_unreadable_capture_is_skipped_with_a_warning(kit: Any, seeded: str) -> None:
    broken = kit.make_capture([([MAIN], 0.01)], target="broken.py")
    kit.make_store([broken.replace(cpu_profile=b"not a profile")])
    result = kit("export", "collapsed", "-o", "-", check_rc=0)
    assert result.stdout == "main (/app/main.py:1) 10000\n"
    assert "1 capture(s) could not be read" in result.stderr
    assert broken.id in result.stderr
    assert result.stderr.endswith("wrote 1 stack from 1 capture to standard output\n")
    only_broken = kit("export", "collapsed", "--capture", broken.id, "-o", "-")
    assert_one_line_error(kit, only_broken, "could not be read", broken.id)


def test_help_has_examples(kit: Any) -> None:
    for fmt in FORMATS:
        result = kit("export", fmt, "--help", check_rc=0)
        assert f"profiler-kit export {fmt}" in result.stdout
        assert "--capture" in result.stdout and "--route" in result.stdout
    collapsed_help = kit("export", "collapsed", "--help", check_rc=0).stdout
    assert "microseconds" in collapsed_help and "samples" in collapsed_help
    listing = kit("--help", check_rc=0).stdout
    assert "export" in listing
