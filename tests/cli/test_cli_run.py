"""End-to-end ``profiler-kit run`` (and ``ls`` / ``report``) on small scripts.

Each target script has known hotspots: a function that burns ~0.3 s of pure
Python arithmetic next to one that burns a tenth of that, or one that
allocates 50 MB on a known line. Assertions compare orders and names, not
timings, so they hold on a noisy 2-core machine.
"""

from __future__ import annotations

import json
import re
import selectors
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.testing import HOT_SCRIPT as BURN_SCRIPT

HOT_SCRIPT = BURN_SCRIPT + 'print("done: ünïcode ✓")\n'
HOT_SCRIPT_STDOUT = "burned\ndone: ünïcode ✓\n"

SHOW_ARGV = """\
import json
import sys

print(json.dumps(sys.argv))
"""

MIB = 1024 * 1024


# -- the basic run: one module-scoped run of HOT_SCRIPT ------------------------


class HotRun:
    def __init__(self, pk: Any, result: subprocess.CompletedProcess[str], script: Path) -> None:
        self.pk = pk
        self.result = result
        self.script = script
        self.report = pk.cwd / "run-report.html"


@pytest.fixture(scope="module")
def hot_run(tmp_path_factory: pytest.TempPathFactory, pk_factory: Any) -> HotRun:
    """``profiler-kit run -o run-report.html hot_script.py`` in a fresh directory."""
    pk = pk_factory(tmp_path_factory.mktemp("hot"))
    script = pk.write("hot_script.py", HOT_SCRIPT)
    result = pk("run", "-o", "run-report.html", script.name, check_rc=0)
    return HotRun(pk, result, script)


def test_summary_lists_hottest_function_first(hot_run: HotRun) -> None:
    """The stderr summary ranks the heavy function first by self time, above the light one."""
    rows = hot_run.pk.summary_rows(hot_run.result.stderr, "Top functions by self time")
    names = [row["name"] for row in rows]
    assert names[0] == "burn_cpu_hotspot", hot_run.result.stderr
    line = hot_run.pk.line_of(hot_run.script, "def burn_cpu_hotspot")
    assert rows[0]["where"] == f"{hot_run.script.name}:{line}"
    assert "light_cpu_helper" in names, hot_run.result.stderr
    assert names.index("light_cpu_helper") > 0
    assert hot_run.result.stderr.splitlines()[1].startswith(f"profiler-kit: {hot_run.script.name}")


def test_target_stdout_is_untouched(hot_run: HotRun) -> None:
    """stdout holds exactly what the script printed: the summary goes to stderr only."""
    assert hot_run.result.stdout == HOT_SCRIPT_STDOUT
    assert hot_run.pk.python(hot_run.script.name).stdout == HOT_SCRIPT_STDOUT


def test_run_stores_exactly_one_capture(hot_run: HotRun) -> None:
    """One run adds one capture: the one the summary says it saved, with the exit status."""
    listing = hot_run.pk.ls_json()
    assert [c["id"] for c in listing] == [hot_run.pk.saved_capture_id(hot_run.result.stderr)]
    assert listing[0]["target"] == hot_run.script.name
    assert listing[0]["kind"] == "script"
    assert listing[0]["exit_code"] == 0


def test_ls_text_lists_the_capture_with_its_target(hot_run: HotRun) -> None:
    """Plain ``ls`` prints a header and one row: the capture id, kind and target."""
    result = hot_run.pk("ls", check_rc=0)
    lines = result.stdout.splitlines()
    capture_id = hot_run.pk.saved_capture_id(hot_run.result.stderr)
    assert lines[0].split()[:4] == ["ID", "KIND", "WHEN", "TARGET"]
    assert len(lines) == 2, result.stdout
    cells = lines[1].split()
    assert cells[0] == capture_id
    assert cells[1] == "script"
    assert cells[4] == hot_run.script.name  # after the id, kind, date and time


def test_run_writes_report_naming_hot_function(hot_run: HotRun) -> None:
    """The report ``run -o`` writes embeds data whose top hotspot is the hot function."""
    data = hot_run.pk.report_data(hot_run.report)
    assert hot_run.pk.hotspot_names(data)[0] == "burn_cpu_hotspot"
    assert data["capture"]["id"] == hot_run.pk.saved_capture_id(hot_run.result.stderr)


def test_report_of_capture_id_names_hot_function(hot_run: HotRun) -> None:
    """``report --capture ID -o FILE`` writes that capture's report, hot function on top."""
    # GIVEN the id of the stored capture
    capture_id = hot_run.pk.ls_json()[0]["id"]
    # WHEN its report is written to a chosen file
    out = hot_run.pk.cwd / "by-id.html"
    result = hot_run.pk("report", "--capture", capture_id, "-o", out.name, check_rc=0)
    # THEN the file exists and its data names the hot function first
    assert capture_id in result.stdout
    data = hot_run.pk.report_data(out)
    assert data["capture"]["id"] == capture_id
    assert data["capture"]["target"] == hot_run.script.name
    names = hot_run.pk.hotspot_names(data)
    assert names[0] == "burn_cpu_hotspot"
    assert names.index("light_cpu_helper") > 0


def test_report_of_capture_id_prefix(hot_run: HotRun) -> None:
    """``report --capture`` accepts a unique prefix of an id, in any case."""
    capture_id = hot_run.pk.ls_json()[0]["id"]
    out = hot_run.pk.cwd / "by-prefix.html"
    hot_run.pk("report", "--capture", capture_id[:10].lower(), "-o", out.name, check_rc=0)
    assert hot_run.pk.report_data(out)["capture"]["id"] == capture_id


def test_report_latest_writes_the_latest_capture(hot_run: HotRun) -> None:
    """``report --latest`` writes profiler-kit-report.html for the latest capture."""
    default = hot_run.pk.cwd / "profiler-kit-report.html"
    assert not default.exists()  # the run wrote run-report.html instead
    hot_run.pk("report", "--latest", check_rc=0)
    data = hot_run.pk.report_data(default)
    assert data["capture"]["id"] == hot_run.pk.ls_json()[0]["id"]
    assert hot_run.pk.hotspot_names(data)[0] == "burn_cpu_hotspot"


# -- the target sees what python would give it ---------------------------------


@pytest.mark.parametrize(
    "args",
    [("a", "--flag", "b"), ("-q", "-o", "x.html", "--", "-m", "mod", "--help")],
    ids=["plain", "profiler-kit-like-options"],
)
def test_script_argv_matches_python(pk: Any, args: tuple[str, ...]) -> None:
    """sys.argv is [script as given, *args], exactly as under plain python; args are not ours."""
    script = pk.write("show_argv.py", SHOW_ARGV)
    result = pk("run", "--no-report", "-q", script.name, *args, check_rc=0)
    argv = json.loads(result.stdout)
    assert argv == [script.name, *args]
    assert argv == json.loads(pk.python(script.name, *args).stdout)
    assert not (pk.cwd / "x.html").exists()


def test_script_name_and_path0_match_python(pk: Any) -> None:
    """__name__ is "__main__" and sys.path[0] is the script's directory, as under python."""
    # GIVEN a script in a subdirectory, so its directory differs from the cwd
    (pk.cwd / "scripts").mkdir()
    pk.write(
        "scripts/where.py",
        """\
        import json
        import sys

        print(json.dumps({"name": __name__, "path0": sys.path[0]}))
        """,
    )
    # WHEN it runs under profiler-kit and under python
    profiled = json.loads(pk("run", "--no-report", "-q", "scripts/where.py", check_rc=0).stdout)
    plain = json.loads(pk.python("scripts/where.py").stdout)
    # THEN both see the same
    assert profiled["name"] == "__main__"
    assert Path(profiled["path0"]) == (pk.cwd / "scripts").resolve()
    assert profiled == plain


def test_script_dunder_file_matches_python(pk: Any) -> None:
    """__file__ of the script is what python gives it (an absolute path since 3.9)."""
    script = pk.write("show_file.py", "print(__file__)\n")
    profiled = pk("run", "--no-report", "-q", script.name, check_rc=0).stdout
    assert profiled == pk.python(script.name).stdout


def test_stdin_is_passed_through(pk: Any) -> None:
    """The target reads the stdin piped to profiler-kit, all of it, unchanged."""
    script = pk.write(
        "echo_stdin.py",
        """\
        import sys

        for line in sys.stdin:
            print(line.rstrip("\\n")[::-1])
        """,
    )
    text = "first line\nsecond ✓ line\n"
    result = pk("run", "--no-report", "-q", script.name, input=text, check_rc=0)
    assert result.stdout == "enil tsrif\nenil ✓ dnoces\n"


# -- exit status and uncaught exceptions ----------------------------------------


@pytest.mark.parametrize(
    ("exit_call", "expected_rc", "expected_stderr"),
    [("sys.exit(7)", 7, ""), ('sys.exit("stopped: bad config")', 1, "stopped: bad config\n")],
    ids=["int", "message"],
)
def test_exit_status_is_the_targets(
    pk: Any, exit_call: str, expected_rc: int, expected_stderr: str
) -> None:
    """sys.exit(N) exits N; sys.exit("msg") prints msg to stderr and exits 1; both are stored."""
    script = pk.write("exits.py", f"import sys\n\nprint('before exit')\n{exit_call}\n")
    plain = pk.python(script.name)
    result = pk("run", "--no-report", "-q", script.name)
    assert result.returncode == expected_rc, pk.explain(result)
    assert result.stderr == expected_stderr
    assert result.stdout == "before exit\n"
    assert (plain.returncode, plain.stderr) == (expected_rc, expected_stderr)
    [capture] = pk.ls_json()
    assert capture["exit_code"] == expected_rc


# The shared CPU-bound script, its hot function renamed, then an uncaught exception.
BOOM_SCRIPT = (
    BURN_SCRIPT.replace("burn_cpu_hotspot", "work_before_boom") + 'raise ValueError("boom")\n'
)


def test_uncaught_exception_exits_1_and_capture_is_kept(pk: Any) -> None:
    """An uncaught ValueError exits 1 with the error on stderr; the profile is still stored."""
    script = pk.write("boom.py", BOOM_SCRIPT)
    result = pk("run", "-o", "boom.html", script.name, check_rc=1)
    assert "ValueError: boom" in result.stderr
    [capture] = pk.ls_json()
    assert capture["exit_code"] == 1
    assert capture["id"] == pk.saved_capture_id(result.stderr)
    # the report of the stored capture shows what ran before the exception
    pk("report", "--capture", capture["id"], "-o", "stored.html", check_rc=0)
    for html in ("boom.html", "stored.html"):
        assert pk.hotspot_names(pk.report_data(pk.cwd / html))[0] == "work_before_boom"


def _traceback_lines(stderr: str, cwd: Path) -> list[str]:
    """The traceback in ``stderr``, with file names made absolute."""
    lines = stderr.splitlines()
    start = lines.index("Traceback (most recent call last):")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("ValueError"))

    def absolute(match: re.Match[str]) -> str:
        return f'File "{(cwd / match.group(1)).resolve()}"'

    return [re.sub(r'File "([^"<]+)"', absolute, line) for line in lines[start : end + 1]]


def test_uncaught_exception_traceback_matches_python(pk: Any) -> None:
    """The traceback is python's own: the script's frames only, none from profiler_kit or runpy."""
    script = pk.write("boom.py", BOOM_SCRIPT)
    raise_line = pk.line_of(script, 'raise ValueError("boom")')
    plain = pk.python(script.name)
    result = pk("run", "--no-report", "-q", script.name, check_rc=1)
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert re.search(rf'File "[^"]*boom\.py", line {raise_line}, in <module>', result.stderr)
    assert result.stderr.rstrip("\n").endswith("ValueError: boom")
    assert "profiler_kit" not in result.stderr
    assert "runpy" not in result.stderr
    assert _traceback_lines(result.stderr, pk.cwd) == _traceback_lines(plain.stderr, pk.cwd)


# -- python -m ------------------------------------------------------------------


def test_module_sees_its_arguments(pk: Any) -> None:
    """``run -m mod x y`` gives the module argv[1:] == ['x', 'y'] and python's argv[0]."""
    pk.write("show_argv_mod.py", SHOW_ARGV)
    result = pk("run", "--no-report", "-q", "-m", "show_argv_mod", "x", "y", check_rc=0)
    argv = json.loads(result.stdout)
    assert argv[1:] == ["x", "y"]
    assert argv == json.loads(pk.python("-m", "show_argv_mod", "x", "y").stdout)
    [capture] = pk.ls_json()
    assert capture["target"] == "-m show_argv_mod x y"


@pytest.mark.parametrize(
    "before_m",
    [
        pytest.param((), id="no-options-before-m"),
        pytest.param(("--no-report", "-q"), id="flags-before-m"),
        pytest.param(("--store", "captures.sqlite3"), id="valued-option-before-m"),
    ],
)
def test_module_gets_help_flag(pk: Any, before_m: tuple[str, ...]) -> None:
    """``run [OPTIONS] -m mod --help`` passes --help to the module, not to profiler-kit."""
    pk.write("show_argv_mod.py", SHOW_ARGV)
    result = pk("run", *before_m, "-m", "show_argv_mod", "--help", check_rc=0)
    assert "Usage: profiler-kit" not in result.stdout
    assert json.loads(result.stdout)[1:] == ["--help"]
    assert pk.ls_json()[0]["target"] == "-m show_argv_mod --help"


# -- --memory --------------------------------------------------------------------


def _bytes(text: str) -> float:
    number, unit = text.split()
    return float(number) * {"B": 1, "KiB": 1024, "MiB": MIB, "GiB": 1024 * MIB}[unit]


def test_memory_reports_peak_and_top_allocation_site(pk: Any) -> None:
    """--memory: the summary and report show the ~50 MB peak and its function and line."""
    # GIVEN a script that holds 50 MiB of bytearrays allocated on one known line
    script = pk.write(
        "alloc.py",
        """\
        def allocate_hotspot():
            blocks = []
            for _ in range(50):
                blocks.append(bytearray(1024 * 1024))  # the allocation site
            return blocks


        def small_helper():
            return [str(i) for i in range(100)]


        data = allocate_hotspot()
        small_helper()
        print(len(data))
        """,
    )
    line = pk.line_of(script, "the allocation site")
    # WHEN it runs with --memory
    result = pk("run", "--memory", "-o", "mem.html", script.name, check_rc=0)
    assert result.stdout == "50\n"
    # THEN the summary's Memory section shows the peak and names the site first
    lines = result.stderr.splitlines()
    [memory_line] = [i for i, text in enumerate(lines) if text.startswith("Memory: peak ")]
    peak = re.match(r"Memory: peak (\S+ \S+) ·", lines[memory_line])
    assert peak, lines[memory_line]
    assert 50 * MIB <= _bytes(peak.group(1)) < 80 * MIB
    top_site = lines[memory_line + 1].split()
    assert top_site[2:] == ["allocate_hotspot", f"{script.name}:{line}"], lines[memory_line + 1]
    assert _bytes(" ".join(top_site[:2])) >= 50 * MIB
    # AND the report's data agrees
    memory = pk.report_data(pk.cwd / "mem.html")["memory"]
    assert memory["peak_bytes"] >= 50 * MIB
    site = memory["top_sites"][0]
    assert site["bytes"] >= 50 * MIB
    assert site["stack"][0]["name"] == "allocate_hotspot"
    assert site["stack"][0]["line"] == line
    assert site["stack"][0]["file"].endswith(script.name)
    # AND the store has the peak too
    [capture] = pk.ls_json()
    assert capture["peak_memory"] == memory["peak_bytes"]


def test_memory_in_thread_is_attributed_to_thread_function(pk: Any) -> None:
    """--memory: allocations made in a threading.Thread are attributed to its target function."""
    script = pk.write(
        "thread_alloc.py",
        """\
        import threading


        def thread_allocate_hotspot(out):
            for _ in range(40):
                out.append(bytearray(1024 * 1024))  # the thread's allocation site


        blocks = []
        worker = threading.Thread(target=thread_allocate_hotspot, args=(blocks,))
        worker.start()
        worker.join()
        print(len(blocks))
        """,
    )
    line = pk.line_of(script, "the thread's allocation site")
    result = pk("run", "--memory", "-o", "mem.html", script.name, check_rc=0)
    assert result.stdout == "40\n"
    memory = pk.report_data(pk.cwd / "mem.html")["memory"]
    assert memory["peak_bytes"] >= 40 * MIB
    site = memory["top_sites"][0]
    assert site["bytes"] >= 40 * MIB
    assert (site["stack"][0]["name"], site["stack"][0]["line"]) == ("thread_allocate_hotspot", line)


# -- Ctrl-C ----------------------------------------------------------------------


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
        return process.stdout.readline()


def test_ctrl_c_exits_130_and_keeps_the_capture(pk: Any) -> None:
    """SIGINT stops the target: exit 130, and the capture of what ran is stored and reported."""
    # GIVEN a target that says "ready", then spins forever in a named function
    script = pk.write(
        "spin.py",
        """\
        import time


        def spin_forever_hotspot():
            total = 0
            while True:
                time.perf_counter()
                for i in range(2000):
                    total += i * i % 7


        print("ready", flush=True)
        spin_forever_hotspot()
        """,
    )
    process = pk.popen("run", "-o", "spin.html", script.name)
    try:
        # WHEN it is running and gets SIGINT
        assert _read_line(process, timeout=15) == "ready\n"
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # THEN it exits 130 having stored and reported the profile up to then
    assert process.returncode == 130, stderr
    assert stdout == ""
    assert "KeyboardInterrupt" in stderr
    assert "interrupted by Ctrl-C" in stderr
    [capture] = pk.ls_json()
    assert capture["exit_code"] == 130
    assert capture["id"] == pk.saved_capture_id(stderr)
    assert pk.hotspot_names(pk.report_data(pk.cwd / "spin.html"))[0] == "spin_forever_hotspot"
