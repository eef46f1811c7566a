"""``profiler-kit bench``: scripts and WSGI/ASGI endpoints measured and stored; bad input refused.

A bench run stores one capture per target (reason ``bench``) whose wall and
CPU times are the medians of the samples kept in the capture, with the
counts (Python calls, allocations, bytes, peak, GC runs, SQL queries).
``baseline save -o -`` shows what was stored.
"""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"
COUNTS = ("calls", "allocations", "allocated_bytes", "peak_bytes", "gc_collections", "queries")
ORDER = {"items": [{"sku": "tea", "quantity": 2}, {"sku": "cake", "quantity": 1}]}


def _stored_run(kit: Any, expected: dict[str, str], repeat: int) -> dict[str, dict[str, Any]]:
    """Check the store holds one bench capture per expected target; return the targets' data.

    ``expected`` maps each target's name to its capture kind.
    """
    listing = {capture["id"]: capture for capture in kit.ls()}
    document = kit.baseline_document()
    targets: dict[str, dict[str, Any]] = document["targets"]
    assert sorted(targets) == sorted(expected)
    assert sorted(target["capture_id"] for target in targets.values()) == sorted(listing)
    for name, target in targets.items():
        capture = listing[target["capture_id"]]  # ls shows "METHOD route", without the query
        assert capture["reason"] == "bench"
        assert capture["kind"] == expected[name] == target["kind"]
        assert capture["service"] == "bench"
        assert len(target["wall_s"]) == len(target["cpu_s"]) == repeat
        assert all(value > 0 for value in target["wall_s"])
        assert capture["wall_s"] == pytest.approx(statistics.median(target["wall_s"]))
        assert capture["cpu_s"] == pytest.approx(statistics.median(target["cpu_s"]))
        counts = target["counts"]
        assert sorted(counts) == sorted(COUNTS), counts
        assert all(isinstance(value, int) and value >= 0 for value in counts.values()), counts
        assert counts["calls"] > 0 and counts["allocations"] > 0, counts
        assert counts["allocated_bytes"] >= counts["peak_bytes"] > 0, counts
        assert capture["allocations"] == counts["allocations"]
        assert capture["peak_memory"] == counts["peak_bytes"]
        assert target["profile"], f"{name}: no CPU profile stored"
    return targets


@pytest.mark.usefixtures("needs_memray")
def test_bench_script(kit: Any) -> None:
    """A script: one capture, medians of the stored samples, every count, a printed table."""
    kit.copy("knobs.py")
    result = kit.bench("knobs.py", repeat=5)
    targets = _stored_run(kit, {"knobs.py": "script"}, repeat=5)
    counts = targets["knobs.py"]["counts"]
    assert counts["queries"] == 0 and counts["gc_collections"] == 0, counts
    assert result.stdout.splitlines()[0].split()[:3] == ["TARGET", "WALL", "CPU"]
    assert result.stdout.splitlines()[1].startswith("knobs.py ")
    assert "1 targets stored in" in result.stderr or "1 target stored in" in result.stderr
    kit.assert_no_traceback(result)


def test_bench_script_arguments(kit: Any) -> None:
    """Arguments after ``--`` reach the script's ``sys.argv``."""
    kit.write(
        "needs_args.py",
        """\
        import sys

        if sys.argv[1:] != ["--size", "3"]:
            sys.exit(f"wrong arguments: {sys.argv[1:]}")
        """,
    )
    kit.bench("--no-memory", "needs_args.py", "--", "--size", "3", repeat=3)
    assert [c["target"] for c in kit.ls()] == ["needs_args.py"]


@pytest.mark.usefixtures("needs_memray")
def test_bench_wsgi_app(kit: Any) -> None:
    """Flask in process: a GET and a POST whose JSON body the app validates (400 otherwise)."""
    kit.copy("json_flask_app.py")
    kit.write("order.json", json.dumps(ORDER))
    kit.bench(
        "--app",
        "json_flask_app:app",
        "--request",
        "GET /hello",
        "--request",
        "POST /orders @order.json",
        repeat=5,
    )
    targets = _stored_run(kit, {"GET /hello": "request", "POST /orders": "request"}, repeat=5)
    post = {c["id"]: c for c in kit.ls()}[targets["POST /orders"]["capture_id"]]
    assert (post["method"], post["route"], post["status"]) == ("POST", "/orders", 200)
    # Validating and echoing the body costs calls that answering "hello" does not.
    assert targets["POST /orders"]["counts"]["calls"] > targets["GET /hello"]["counts"]["calls"]


@pytest.mark.usefixtures("needs_memray")
def test_bench_asgi_app(kit: Any) -> None:
    """FastAPI in process: lifespan started, async and thread-pool endpoints, a JSON POST."""
    kit.copy("json_fastapi_app.py")
    kit.write("order.json", json.dumps(ORDER))
    kit.bench(
        "--app",
        "json_fastapi_app:app",
        "--request",
        "GET /hello",  # 503 unless the app's lifespan startup ran
        "--request",
        "POST /orders @order.json",  # 422 unless the body arrived as JSON
        "--request",
        "GET /sync?verbose=1",
        repeat=5,
    )
    _stored_run(
        kit,
        {"GET /hello": "request", "POST /orders": "request", "GET /sync?verbose=1": "request"},
        repeat=5,
    )


@pytest.mark.usefixtures("needs_memray")
def test_bench_counts_sqlalchemy_queries(kit: Any) -> None:
    """The SQL statements of a request are counted exactly, run after run."""
    kit.copy("sql_app.py")
    request = ("--app", "sql_app:app", "--request", "GET /products")
    kit.bench(*request, repeat=3)
    targets = _stored_run(kit, {"GET /products": "request"}, repeat=3)
    assert targets["GET /products"]["counts"]["queries"] == 3
    kit.bench(*request, env={"SQL_APP_QUERIES": "7"}, repeat=3)
    assert kit.baseline_document()["targets"]["GET /products"]["counts"]["queries"] == 7


@pytest.mark.parametrize(
    ("example", "path"), [("flask_app", "/items/7"), ("fastapi_app", "/items/7")]
)
def test_bench_examples(kit: Any, example: str, path: str) -> None:
    """The README's example apps, with their profiler-kit middleware switched off."""
    shutil.copy(EXAMPLES / f"{example}.py", kit.cwd / f"{example}.py")
    kit.bench("--no-memory", "--app", f"{example}:app", "--request", f"GET {path}", repeat=3)
    listing = kit.ls()
    # Only the bench capture: the middleware (PROFILER_KIT_ENABLED=false) stored nothing.
    assert [(c["target"], c["reason"]) for c in listing] == [(f"GET {path}", "bench")]


# -- bad input: exit 2, one line, no traceback, nothing stored ---------------------------

FLASK = ("--app", "json_flask_app:app")
FASTAPI = ("--app", "json_fastapi_app:app")

BAD_INPUT = [
    pytest.param(["no_such_script.py"], ["no such script", "no_such_script.py"], id="no-script"),
    pytest.param([*FLASK, "--request", "GET"], ["'GET'", "METHOD /path"], id="no-path"),
    pytest.param([*FLASK, "--request", "GET hello"], ["'GET hello'"], id="relative-path"),
    pytest.param([*FLASK, "--request", ""], ["METHOD /path"], id="empty-request"),
    pytest.param([*FLASK, "--request", "GET /a /b /c"], ["'GET /a /b /c'"], id="extra-words"),
    pytest.param([*FLASK, "--request", "POST /orders order.json"], ["@file"], id="body-without-at"),
    pytest.param(
        [*FLASK, "--request", "POST /orders @missing.json"],
        ["missing.json", "No such file"],
        id="missing-body",
    ),
    pytest.param(
        ["--app", "no_such_module_xyz:app", "--request", "GET /"],
        ["cannot import no_such_module_xyz"],
        id="app-not-importable",
    ),
    pytest.param(
        ["--app", "imports_missing:app", "--request", "GET /"],
        ["no_such_dependency_xyz"],
        id="app-dependency-missing",
    ),
    pytest.param(
        ["--app", "json_flask_app", "--request", "GET /"], ["MODULE:ATTRIBUTE"], id="app-no-colon"
    ),
    pytest.param(
        ["--app", "json_flask_app:nope", "--request", "GET /"], ["'nope'"], id="app-no-attribute"
    ),
    pytest.param(
        ["--app", "json_flask_app:__name__", "--request", "GET /"],
        ["not a WSGI or ASGI application"],
        id="app-not-callable",
    ),
    pytest.param([*FLASK, "--request", "GET /nowhere"], ["answered 404"], id="wsgi-404"),
    pytest.param([*FASTAPI, "--request", "GET /nowhere"], ["answered 404"], id="asgi-404"),
    pytest.param([*FLASK, "--request", "GET /broken"], ["answered 500"], id="wsgi-500"),
    pytest.param([*FASTAPI, "--request", "GET /broken"], ["answered 500"], id="asgi-500"),
    pytest.param(
        [*FLASK, "--request", "POST /orders @bad.json"], ["answered 400"], id="wsgi-bad-body"
    ),
    pytest.param(
        [*FASTAPI, "--request", "POST /orders @bad.json"], ["answered 422"], id="asgi-bad-body"
    ),
    pytest.param(
        [*FLASK, "--request", "GET /hello", "--request", "GET /nowhere"],
        ["GET /nowhere answered 404"],
        id="one-bad-of-two",
    ),
    pytest.param(["exits_3.py"], ["exited with status 3"], id="script-exits-non-zero"),
    pytest.param(["--request", "GET /"], ["--app MODULE:APP"], id="request-without-app"),
    pytest.param(["--app", "json_flask_app:app"], ["--app needs"], id="app-without-request"),
    pytest.param([], ["give a SCRIPT"], id="nothing-to-bench"),
    pytest.param(["knobs.py", "--repeat", "0"], ["--repeat"], id="zero-repeat"),
    # An exception raised by the workload is a one-line error, not a traceback.
    pytest.param(
        ["raises.py"],
        ["raises.py", "boom"],
        id="script-raises",
    ),
    pytest.param(
        ["--app", "syntax_error:app", "--request", "GET /"],
        ["syntax_error"],
        id="app-syntax-error",
    ),
    pytest.param(
        ["--app", "raises_on_import:app", "--request", "GET /"],
        ["raises_on_import"],
        id="app-raises-on-import",
    ),
    pytest.param(
        [*FASTAPI, "--request", "GET /raises"],
        ["GET /raises", "raised"],
        id="asgi-endpoint-raises",
    ),
]


@pytest.mark.parametrize(("args", "fragments"), BAD_INPUT)
def test_bench_bad_input(kit: Any, args: list[str], fragments: list[str]) -> None:
    kit.copy("json_flask_app.py", "json_fastapi_app.py", "knobs.py")
    kit.write("bad.json", json.dumps({"items": "not a list"}))
    kit.write("exits_3.py", "import sys\nsys.exit(3)\n")
    kit.write("raises.py", "raise RuntimeError('boom')\n")
    kit.write("syntax_error.py", "def broken(:\n")
    kit.write("raises_on_import.py", "raise RuntimeError('not today')\n")
    kit.write("imports_missing.py", "import no_such_dependency_xyz\n")
    result = kit("bench", "--repeat", "2", "--warmup", "0", "--no-memory", *args)
    kit.assert_input_error(result, *fragments)
    assert not kit.store.exists(), "a failed bench stored something"


def test_bench_wsgi_endpoint_raises(kit: Any) -> None:
    """Flask turns the exception into a 500 (and logs it, traceback included, as it does under
    any server): a one-line error after the app's own log, exit 2."""
    kit.copy("json_flask_app.py")
    result = kit("bench", "--repeat", "2", *FLASK, "--request", "GET /raises")
    assert result.returncode == 2, kit.explain(result)
    last = result.stderr.splitlines()[-1]
    assert last.startswith("profiler-kit: error: GET /raises answered 500"), kit.explain(result)
    assert not kit.store.exists()
