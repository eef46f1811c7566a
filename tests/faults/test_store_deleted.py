"""The store file deleted while the app runs (``rm captures.sqlite3*`` between requests).

Flask under gunicorn (1 sync worker) and FastAPI under uvicorn, every request
captured. The store, its ``-wal`` and its ``-shm`` are unlinked after a first
round of requests; a second round sends the same requests again.

Every request succeeds with the same response, and the writer notices
before its next batch that the file it has open is no longer the one at the
configured path: it logs that once, opens a new store there and writes the
later captures into it (an earlier version kept writing into the unlinked
file, where nobody could read them).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

FRAMEWORK_PATHS = {
    "flask": ["/hello", *(f"/items/{n}" for n in range(6)), "/cpu/5"],
    "fastapi": ["/hello", *(f"/items/{n}" for n in range(4)), "/sync/1", "/sync/2"],
}
GAP_S = 0.12  # > the writer's 50 ms batch wait: each request is its own write


def _delete_store(store: Path) -> list[str]:
    removed = []
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{store}{suffix}")
        if path.exists():
            path.unlink()
            removed.append(path.name)
    return removed


def _send(app, paths: list[str]):  # type: ignore[no-untyped-def]
    replies = []
    for path in paths:
        replies.append((path, app.get(path)))
        time.sleep(GAP_S)
    return replies


def _run_with_deletion(fault_servers, framework: str):  # type: ignore[no-untyped-def]
    """Serve, send a round, delete the store, send the round again; return what happened."""
    paths = FRAMEWORK_PATHS[framework]
    with fault_servers.serve(framework) as app:
        before = _send(app, paths)
        first = app.wait_idle()
        stored_before = len(app.captures())
        removed = _delete_store(app.store)
        after = _send(app, paths)
        second = app.wait_idle()
        observed = {
            "removed": removed,
            "first": first,
            "second": second,
            "stored_before": stored_before,
            "store_exists_after": app.store.exists(),
            "stored_after": len(app.captures()),
            "alive": app.alive(),
        }
    return app, paths, before, after, observed


@pytest.mark.parametrize("framework", ["flask", "fastapi"])
def test_deleted_store_never_affects_requests(fault_servers, store_tools, framework) -> None:
    """Every request before and after the deletion succeeds, with identical responses;
    every capture is accounted for by the counters; a restarted server starts a new store."""
    app, paths, before, after, seen = _run_with_deletion(fault_servers, framework)
    assert seen["removed"][0] == app.store.name, seen
    assert [r.status for _, r in before] == [200] * len(paths)
    assert [(p, r.key) for p, r in after] == [(p, r.key) for p, r in before]
    assert max(r.seconds for _, r in after) < 2.0
    assert seen["alive"], app.output()
    # The first round reached the store.
    assert seen["stored_before"] == len(paths)
    assert seen["first"]["counters"].get("captures.written") == len(paths)
    # Every capture of both rounds is written or counted as dropped: the counters
    # account for all of them (where the written ones went is the test below).
    assert seen["second"]["served"] == 2 * len(paths)
    assert store_tools.accounted(seen["second"]) == 2 * len(paths), seen
    assert "Traceback" not in app.output(), app.output()
    # The old process wrote the second round into a new store at the same path;
    # a restarted process adds to that store.
    with fault_servers.serve(framework, store=app.store) as restarted:
        assert restarted.get("/hello").status == 200
        restarted.wait_idle()
        assert sorted(c.path for c in restarted.captures()) == sorted([*paths, "/hello"])


@pytest.mark.parametrize("framework", ["flask", "fastapi"])
def test_captures_after_deletion_are_stored_again_or_counted_dropped(
    fault_servers, framework
) -> None:
    """After the deletion, each capture is either in a store at the configured path
    (recreated) or counted as dropped (dropped.store_error) and logged: none vanishes."""
    app, paths, _, _, seen = _run_with_deletion(fault_servers, framework)
    written_after = seen["second"]["counters"].get("captures.written", 0) - len(paths)
    dropped_after = seen["second"]["counters"].get("dropped.store_error", 0)
    assert written_after + dropped_after == len(paths), seen
    # What "written" means: in the store at the configured path, readable by `ls`.
    assert seen["store_exists_after"] or written_after == 0, (
        f"{written_after} captures counted as written after the deletion, but no store "
        f"exists at the configured path: {seen}"
    )
    assert seen["stored_after"] == written_after, seen
    if dropped_after:
        assert "writing to the capture store failed" in app.output()
