"""Shared pieces of the fuzz tests: settings, the hang guard, known bugs, strategies, the CLI.

Imported by the test modules of this folder (conftest.py puts the folder on
sys.path). Nothing here is collected as a test.

Known bugs
----------
A fuzzer that keeps finding a bug that is already reported would fail every CI
run until it is fixed. Each reported bug is therefore registered in
:data:`KNOWN_BUGS` with a minimal reproduction. A fuzz test that hits an
exception matching a registered bug counts it (a hypothesis ``event``, shown
by ``--hypothesis-show-statistics``) instead of failing, **but only while the
reproduction still fails**: once the bug is fixed, the same exception fails
the fuzz test again, and the strict xfail in ``test_known_bugs.py`` turns
into a failure that says to delete the entry.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import signal
import sqlite3
import threading
import traceback
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from hypothesis import Phase, event, settings
from hypothesis import strategies as st

# -- settings ------------------------------------------------------------------------

PROFILE = os.environ.get("PROFILER_KIT_FUZZ", "ci")


def fuzz_settings(weight: float = 1.0, **overrides: Any) -> settings:
    """The active profile, with ``weight`` times its number of examples."""
    parent = settings.get_profile(PROFILE)
    examples = max(5, round(parent.max_examples * weight))
    if os.environ.get("PROFILER_KIT_FUZZ_NO_SHRINK"):  # report failures as found, unshrunk
        overrides.setdefault("phases", (Phase.explicit, Phase.reuse, Phase.generate))
        overrides.setdefault("report_multiple_bugs", True)
    return settings(parent=parent, max_examples=examples, **overrides)


# -- hangs ---------------------------------------------------------------------------


class Hang(BaseException):
    """Raised into the code under test when one input takes far too long.

    A ``BaseException``, so that neither the product's ``except Exception`` nor
    CliRunner's exception capture can swallow it.
    """


HANG_S = 30.0


@contextlib.contextmanager
def hard_timeout(seconds: float = HANG_S, what: str = "") -> Iterator[None]:
    """Fail with :class:`Hang` when the block runs longer than ``seconds`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _fire(signum: int, frame: Any) -> None:
        raise Hang(f"no answer after {seconds} s: {what}")

    previous = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- known bugs ----------------------------------------------------------------------


def z(text: str | bytes) -> bytes:
    """zlib-compressed, as stored payloads are."""
    return zlib.compress(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)


CPU_FORMAT = "profiler-kit/cpu-1"
MEMORY_FORMAT = "profiler-kit/memory-1"
DEEP_JSON = "[" * 100_000
FRAME = "f\x00/app/f.py\x001"

# Minimal reproductions, shared with test_known_bugs.py.
REPRO_CPU_INFINITE_INDEX = z(
    json.dumps({"format": CPU_FORMAT, "frames": [FRAME], "stacks": [[math.inf]], "samples": [],
                "meta": {}})
)  # fmt: skip
REPRO_CPU_HUGE_SECONDS = z(
    '{"format":"profiler-kit/cpu-1","frames":[],"stacks":[[]],"samples":[[0,1' + "0" * 400 + "]],"
    '"meta":{}}'
)
REPRO_DEEP_PAYLOAD = z(DEEP_JSON)
REPRO_MEMORY_INFINITE_BYTES = z(
    json.dumps({"format": MEMORY_FORMAT, "peak_bytes": 1, "total_bytes": 1, "allocations": 1,
                "leaked_bytes": 0, "leaked_allocations": 0, "leaks": [],
                "top_sites": [{"bytes": math.inf, "count": 1, "stack": []}]})
)  # fmt: skip
REPRO_CPU_META_PREFIXES = z(
    json.dumps({"format": CPU_FORMAT, "frames": [FRAME], "stacks": [[0]], "samples": [[0, 0.01]],
                "meta": {"sys_prefixes": 5}})
)  # fmt: skip
REPRO_CPU_INFINITE_SAMPLE = z(
    json.dumps({"format": CPU_FORMAT, "frames": [FRAME], "stacks": [[0]],
                "samples": [[0, math.inf]], "meta": {}})
)  # fmt: skip
REPRO_TOKEN_SURROGATE = "pk1.1.\ud800.x"
REPRO_BASELINE_TEXTS = {
    "deep": DEEP_JSON,
    "5000 digits": "1" * 5000,
    "wall_s has a 400-digit integer": (
        '{"format":"profiler-kit-baseline","version":1,"targets":{"t":{"wall_s":[1'
        + "0" * 400
        + '],"cpu_s":[1]}}}'
    ),
}


def make_capture(**fields: Any) -> Any:
    from profiler_kit.store.ids import new_capture_id
    from profiler_kit.store.record import Capture

    started = float(fields.pop("started_at", 1_700_000_000.0))
    values: dict[str, Any] = {
        "id": new_capture_id(started),
        "kind": "script",
        "service": "fuzz",
        "host": "host",
        "pid": 1,
        "started_at": started,
        "wall_s": 0.5,
        "cpu_s": 0.4,
        "reason": "script",
        "target": "target.py",
        "exit_code": 0,
    }
    values.update(fields)
    return Capture(**values)


def damaged_schema_store(path: Path) -> Path:
    """A store whose CREATE TABLE text in sqlite_master has one byte made invalid UTF-8."""
    from profiler_kit.store import open_store

    with open_store(path) as store:
        store.add(make_capture())
    data = bytearray(path.read_bytes())
    data[data.index(b"tablecapturescaptures") + 30] ^= 159
    path.write_bytes(bytes(data))
    return path


REPRO_MEMORY_FRAME_DICT = z(
    json.dumps({"format": MEMORY_FORMAT, "peak_bytes": 1, "total_bytes": 1, "allocations": 1,
                "leaked_bytes": 0, "leaked_allocations": 0, "leaks": [],
                "top_sites": [{"bytes": 1, "count": 1, "stack": [["f", {"a": 1}, 1]]}]})
)  # fmt: skip


def signed_token(secret: str, message: str) -> str:
    """A correctly signed token over any message (only the secret's holder can make one)."""
    import base64
    import hashlib
    import hmac

    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return f"{message}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


@dataclass(frozen=True)
class KnownBug:
    key: str
    summary: str
    types: tuple[type[BaseException], ...]
    functions: frozenset[str]  # one of these (name or qualified name) is in the traceback
    reproduce: Callable[[], None]  # raises one of ``types`` while the bug is present


# nullable TEXT columns: SQLite keeps a BLOB stored there as given
BLOB_TEXT_COLUMNS = ("method", "route", "path", "trace_id", "span_id")


def blob_text_store(path: Path, column: str = "trace_id") -> Path:
    """A store of one capture whose ``column`` (one of BLOB_TEXT_COLUMNS) holds a BLOB."""
    from profiler_kit.store import open_store

    assert column in BLOB_TEXT_COLUMNS, column
    with open_store(path) as store:
        store.add(make_capture())
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(f"UPDATE captures SET {column} = x'00'")
        db.commit()
    return path


# Bugs the fuzzers found and that are fixed have a regression test in
# test_known_bugs.py. An open one is registered here (with its reproduction,
# and a strict xfail in test_known_bugs.py) so the fuzzers count it while it is open.
KNOWN_BUGS: dict[str, KnownBug] = {}


@functools.cache
def bug_present(key: str) -> bool:
    """Whether a registered bug still reproduces (checked once per session)."""
    bug = KNOWN_BUGS[key]
    try:
        bug.reproduce()
    except bug.types:
        return True
    except Exception:
        return False
    return False


def _code_names(error: BaseException) -> set[str]:
    names: set[str] = set()
    tb = error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        names.update((code.co_name, getattr(code, "co_qualname", code.co_name)))
        tb = tb.tb_next
    return names


def known_bug(error: BaseException, *, candidates: Sequence[str] | None = None) -> str | None:
    """The key of a still-present registered bug that ``error`` is an instance of, if any."""
    names = _code_names(error)
    for key in candidates if candidates is not None else KNOWN_BUGS:
        bug = KNOWN_BUGS.get(key)
        if bug is None:
            continue  # fixed: no longer tolerated
        if not isinstance(error, bug.types):
            continue
        if not bug.functions or not bug.functions & names:
            continue  # bugs without functions are matched by the test that provoked them
        if bug_present(key):
            return key
    return None


def tolerate(error: BaseException, *, candidates: Sequence[str] | None = None) -> None:
    """Count ``error`` as a known bug, or re-raise it."""
    key = known_bug(error, candidates=candidates)
    if key is None:
        raise error
    event(f"known bug: {key}")


def describe(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))[-4000:]


# -- the CLI, in-process ---------------------------------------------------------------


def clean_env() -> dict[str, str | None]:
    """No PROFILER_KIT_* from the calling environment (CliRunner unsets keys mapped to None)."""
    return {key: None for key in os.environ if key.startswith("PROFILER_KIT_")}


_RUNNER = CliRunner()


def invoke(args: Sequence[str | Path], *, timeout: float = HANG_S) -> Result:
    from profiler_kit.cli import cli

    argv = [str(arg) for arg in args]
    with hard_timeout(timeout, "profiler-kit " + " ".join(argv)):
        return _RUNNER.invoke(cli, argv, env=clean_env(), catch_exceptions=True)


def check_cli(
    result: Result,
    args: Sequence[str | Path],
    *,
    exits: tuple[int, ...] = (0, 2),
    candidates: Sequence[str] | None = None,
) -> int | str:
    """Assert a clean outcome: an allowed exit status, no traceback, one error line on failure.

    Returns the exit status, or the key of the known bug that was hit instead.
    """
    shown = "profiler-kit " + " ".join(str(arg) for arg in args)
    error = result.exception
    if error is not None and not isinstance(error, SystemExit):
        key = known_bug(error, candidates=candidates)
        if key is None:
            raise AssertionError(f"{shown}: uncaught exception\n{describe(error)}")
        event(f"known bug: {key}")
        return key
    assert result.exit_code in exits, f"{shown}: exit {result.exit_code}\n{result.output}"
    assert "Traceback" not in result.output, f"{shown}: traceback in the output\n{result.output}"
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        errors = [line for line in lines if line.startswith("profiler-kit: ")]
        usage = [line for line in lines if line.startswith("Error: ")]  # click's usage errors
        assert len(errors) + len(usage) == 1, f"{shown}: expected one error line\n{result.stderr}"
        line = (errors or usage)[0]
        assert line.startswith(("profiler-kit: error: ", "Error: ")), line
        assert len(line.split(": ", 2)[-1]) > 5, line
    return result.exit_code


# -- stores ----------------------------------------------------------------------------


def add_api_captures(store: Path) -> None:
    """Request captures of two routes (one with memory) and a script capture."""
    from profiler_kit.store import open_store
    from profiler_kit.testing import cpu_blob, frame_string, memory_blob

    main = frame_string("handler", "/srv/app/views.py", 10)
    db = frame_string("query", "/srv/app/db.py", 40)
    lib = frame_string("loads", "/usr/lib/python3.11/json/__init__.py", 299)
    captures = []
    for index in range(4):
        route = "/items/{id}" if index % 2 else "/checkout"
        captures.append(
            make_capture(
                started_at=1_700_000_100.0 + index,
                kind="request",
                reason="sampled",
                target=f"GET {route}",
                method="GET" if index % 2 else "POST",
                route=route,
                path=f"/items/{index}" if index % 2 else "/checkout",
                status=200 if index < 3 else 500,
                wall_s=0.05 * (index + 1),
                cpu_s=0.04 * (index + 1),
                peak_memory=4096 * (index + 1) if index == 2 else None,
                cpu_profile=cpu_blob(
                    [([main, db], 0.02 * (index + 1)), ([main, lib], 0.01), ([main], 0.005)],
                    start_time=1_700_000_100.0 + index,
                ),
                memory_profile=(
                    memory_blob([(4096, 3, [("query", "/srv/app/db.py", 41)])])
                    if index == 2
                    else None
                ),
                extra={"framework": "wsgi", "gc_s": 0.001, "gc_collections": 1},
            )
        )
    with open_store(store) as opened:
        opened.add_many(captures)


def capture_ids(store: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(store)) as db:
        return [row[0] for row in db.execute("SELECT id FROM captures ORDER BY started_at, id")]


def reader_commands(store: Path, out: Path, capture_id: str) -> list[list[str | Path]]:
    """Every command that reads a store, each writing (if at all) into ``out``."""
    s = ["--store", store]
    return [
        ["ls", *s],
        ["ls", "--json", "--all", *s],
        ["report", "--capture", capture_id[:12], *s, "-o", out / "one.html"],
        ["report", *s, "-o", out / "all.html"],
        ["export", "collapsed", *s, "-o", out / "stacks.txt"],
        ["export", "speedscope", *s, "-o", out / "profile.json"],
        ["export", "pprof", *s, "-o", out / "profile.pb.gz"],
    ]


def command_name(args: Sequence[str | Path]) -> str:
    words = [str(a) for a in args if not str(a).startswith(("-", "/"))]
    return (
        " ".join(words[:2] if words and words[0] == "export" else words[:1])
        + (" --json" if "--json" in args else "")
        + (" --capture" if "--capture" in args else "")
    )


# -- strategies ------------------------------------------------------------------------

HOSTILE = (
    "</script><script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "<!--",
    "]]>",
    "\u2028\u2029",
    "\x00",
    "javascript:alert(1)",
    "{{7*7}}",
    "${alert(1)}",
    "&lt;b&gt;",
    "\\u003cscript",
    "'; alert(1); '",
    "\ufeff\u202e",
)

edge_ints = st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, -(2**63), 10**20, 10**400, -(10**400)])
edge_floats = st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 1e300, 5e-324, -1.0])
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    edge_ints,
    st.floats(),
    edge_floats,
    st.text(max_size=20),
    st.sampled_from(HOSTILE),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


odd_json_texts = st.one_of(
    st.integers(50, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1000, 5000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.just(DEEP_JSON),
    st.integers(4000, 6000).map(lambda n: "1" * n),
    st.text(max_size=60),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)
json_texts = st.one_of(json_values.map(dumps), odd_json_texts)

hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=8), min_size=1, max_size=4).map("".join),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.integers(10_000, 200_000).map(lambda n: ("<script>" + "A" * n)[:n]),
)
