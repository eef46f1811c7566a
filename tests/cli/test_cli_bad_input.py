"""Bad input: a clear message, no traceback, a non-zero exit, and no lost captures.

Each test first stores one capture with a good run (the ``seeded`` fixture),
then makes the bad call, then checks that the capture is still listed (or,
for a broken store file, that the file was left exactly as it was).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

RUN_QUIETLY = ("--no-report", "-q")
TARGET_RAN = "the target ran"


def _assert_store_intact(pk: Any, seeded: str, *, new: int = 0) -> list[dict[str, Any]]:
    """``ls --json`` still lists the seeded capture, plus ``new`` more; returns the new ones."""
    listing = pk.ls_json()
    ids = [capture["id"] for capture in listing]
    assert seeded in ids, listing
    assert len(ids) == 1 + new, listing
    return [capture for capture in listing if capture["id"] != seeded]


def _script(pk: Any) -> Path:
    return pk.write("target.py", f"print({TARGET_RAN!r})\n")


# -- the target --------------------------------------------------------------------


def test_missing_script(pk: Any, seeded: str) -> None:
    """A script that does not exist is named in an error, exit 2, nothing stored."""
    result = pk("run", *RUN_QUIETLY, "no_such_script.py", "arg")
    assert result.returncode == 2, pk.explain(result)
    assert "profiler-kit: error:" in result.stderr
    assert "no_such_script.py" in result.stderr
    assert "no such file" in result.stderr
    pk.assert_no_traceback(result)
    _assert_store_intact(pk, seeded)


def test_directory_as_script(pk: Any, seeded: str) -> None:
    """A directory given as the script is refused with a hint about -m, exit 2."""
    (pk.cwd / "a_package").mkdir()
    result = pk("run", *RUN_QUIETLY, "a_package")
    assert result.returncode == 2, pk.explain(result)
    assert "'a_package' is a directory" in result.stderr
    assert "-m" in result.stderr
    pk.assert_no_traceback(result)
    _assert_store_intact(pk, seeded)


def test_run_without_script_or_module(pk: Any, seeded: str) -> None:
    """``run`` with neither a script nor -m is a usage error: usage line, exit 2."""
    result = pk("run", *RUN_QUIETLY)
    assert result.returncode == 2, pk.explain(result)
    assert "Usage: profiler-kit run" in result.stderr
    assert "give a script to profile, or -m MODULE" in result.stderr
    pk.assert_no_traceback(result)
    _assert_store_intact(pk, seeded)


def test_missing_module(pk: Any, seeded: str) -> None:
    """``run -m`` of a module that does not exist says so as python does: no traceback, exit 1."""
    plain = pk.python("-m", "no_such_module_xyz")
    result = pk("run", *RUN_QUIETLY, "-m", "no_such_module_xyz")
    assert result.returncode == plain.returncode == 1, pk.explain(result)
    assert "No module named no_such_module_xyz" in result.stderr
    pk.assert_no_traceback(result)
    assert seeded in [capture["id"] for capture in pk.ls_json()]


# -- broken store files ---------------------------------------------------------


def _future_store(pk: Any, seeded: str) -> Path:
    """The seeded store, marked as written by a newer schema."""
    with sqlite3.connect(pk.store) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    return pk.store


def _corrupt_store(pk: Any, seeded: str) -> Path:
    path = pk.cwd / "corrupt.sqlite3"
    path.write_bytes(os.urandom(16384))
    return path


def _truncated_store(pk: Any, seeded: str) -> Path:
    path = pk.cwd / "truncated.sqlite3"
    shutil.copyfile(pk.store, path)
    size = path.stat().st_size
    assert size > 4096  # the copy is a complete store: no WAL left behind
    assert not Path(f"{pk.store}-wal").exists()
    os.truncate(path, size // 2)
    return path


def _foreign_store(pk: Any, seeded: str) -> Path:
    path = pk.cwd / "recipes.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE recipes (name TEXT, minutes INTEGER)")
        db.execute("INSERT INTO recipes VALUES ('soup', 30)")
    db.close()
    return path


BROKEN_STORES = {
    # name: (make the file, what the message must say besides the path)
    "corrupt": (_corrupt_store, ("corrupt or not a profiler-kit store",)),
    "truncated": (_truncated_store, ("corrupt or not a profiler-kit store",)),
    "future-schema": (_future_store, ("schema 99", "upgrade")),
    "foreign-sqlite": (_foreign_store, ("not a profiler-kit store",)),
}
COMMANDS = {
    "ls": ("ls",),
    "ls-json": ("ls", "--json"),
    "report": ("report", "-o", "report.html"),
    "run": ("run", *RUN_QUIETLY, "target.py"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("kind", list(BROKEN_STORES))
def test_broken_store_is_refused_and_left_alone(
    pk: Any, seeded: str, kind: str, command: str
) -> None:
    """A corrupt, truncated, newer or foreign store: message naming it, exit 2, file unchanged."""
    # GIVEN a store file broken in one way
    make, expected = BROKEN_STORES[kind]
    bad_store = make(pk, seeded)
    before = bad_store.read_bytes()
    _script(pk)
    # WHEN a command uses it
    name, *args = COMMANDS[command]
    result = pk(name, "--store", bad_store, *args)
    # THEN it is refused with a message naming the file, before anything runs
    assert result.returncode == 2, pk.explain(result)
    assert result.stderr.startswith(f"profiler-kit: error: {bad_store} "), result.stderr
    for words in expected:
        assert words in result.stderr
    pk.assert_no_traceback(result)
    assert TARGET_RAN not in result.stdout
    assert not (pk.cwd / "report.html").exists()
    # AND the file is left exactly as it was
    assert bad_store.read_bytes() == before
    if kind == "future-schema":
        # the captures in the newer store are all still there
        with sqlite3.connect(bad_store) as db:
            db.execute("PRAGMA user_version = 1")
        db.close()
    elif kind == "foreign-sqlite":
        with sqlite3.connect(bad_store) as db:
            assert db.execute("SELECT * FROM recipes").fetchall() == [("soup", 30)]
        db.close()
    _assert_store_intact(pk, seeded)


# -- missing store, missing capture -------------------------------------------


@pytest.mark.parametrize("command", ["ls", "report"])
def test_missing_store(pk: Any, seeded: str, command: str) -> None:
    """``ls``/``report`` on a store that does not exist: a message naming it, and no file made."""
    missing = pk.cwd / "elsewhere" / "nothing.sqlite3"
    result = pk(command, "--store", missing)
    assert result.returncode != 0, pk.explain(result)
    assert f"no capture store at {missing}" in result.stderr
    pk.assert_no_traceback(result)
    assert not missing.exists()
    assert not missing.parent.exists()
    _assert_store_intact(pk, seeded)


def test_missing_store_from_environment(pk: Any, seeded: str) -> None:
    """A missing store given by PROFILER_KIT_STORE is named in the message too."""
    missing = pk.cwd / "from-env.sqlite3"
    pk.env["PROFILER_KIT_STORE"] = str(missing)
    result = pk("ls")
    assert result.returncode != 0, pk.explain(result)
    assert f"no capture store at {missing}" in result.stderr
    pk.assert_no_traceback(result)
    assert not missing.exists()
    pk.env["PROFILER_KIT_STORE"] = str(pk.store)
    _assert_store_intact(pk, seeded)


def test_report_of_unknown_capture(pk: Any, seeded: str) -> None:
    """``report --capture NOPE`` names the id it could not find and points at ls; no file."""
    result = pk("report", "--capture", "NOPE", "-o", "report.html")
    assert result.returncode != 0, pk.explain(result)
    assert "no capture 'NOPE'" in result.stderr
    assert "profiler-kit ls" in result.stderr
    pk.assert_no_traceback(result)
    assert not (pk.cwd / "report.html").exists()
    _assert_store_intact(pk, seeded)


# -- partial success: the capture is stored even when something else fails ------


def test_memory_of_forking_script(pk: Any, seeded: str) -> None:
    """--memory on a script that forks: a message about the fork, exit 3, the capture saved."""
    # GIVEN a script whose child allocates a little and leaves with os._exit(0)
    script = pk.write(
        "forks.py",
        """\
        import os


        def fork_and_wait():
            pid = os.fork()
            if pid == 0:
                data = bytearray(1024 * 1024)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            print("child exit status", os.waitstatus_to_exitcode(status), flush=True)


        fork_and_wait()
        """,
    )
    # WHEN it is profiled with --memory
    result = pk("run", "--memory", "--no-report", script.name)
    # THEN the memory capture is marked incomplete, with a message about the fork
    assert result.returncode == 3, pk.explain(result)
    assert result.stdout == "child exit status 0\n"
    assert "forked 1 process(es)" in result.stderr
    assert "memray follows one process" in result.stderr
    pk.assert_no_traceback(result)
    # AND the parent's capture is stored once (not by the child), next to the seeded one
    [capture] = _assert_store_intact(pk, seeded, new=1)
    assert capture["target"] == script.name
    assert capture["id"] == pk.saved_capture_id(result.stderr)
    assert capture["peak_memory"] is not None


@pytest.mark.parametrize("command", ["run", "report"])
def test_unwritable_report_path(pk: Any, seeded: str, command: str) -> None:
    """-o into a missing directory: a message naming the path, exit non-zero, the capture kept."""
    script = _script(pk)
    output = Path("no_such_dir") / "report.html"
    args = ("run", script.name) if command == "run" else ("report",)
    result = pk(args[0], "-o", output, *args[1:])
    assert result.returncode != 0, pk.explain(result)
    assert "cannot write the report to" in result.stderr
    assert str(output) in result.stderr
    pk.assert_no_traceback(result)
    assert not (pk.cwd / "no_such_dir").exists()
    if command == "run":
        assert result.stdout == f"{TARGET_RAN}\n"
        [capture] = _assert_store_intact(pk, seeded, new=1)
        assert capture["target"] == script.name
        assert capture["exit_code"] == 0
    else:
        _assert_store_intact(pk, seeded)
