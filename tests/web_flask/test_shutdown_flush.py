"""Captures still queued when a gunicorn worker is told to stop reach the store.

The test holds the store's write lock while requests are served, so every
capture is still in its worker's writer when gunicorn gets SIGTERM; the lock
is released a moment later. A worker that flushes its writer at exit (as the
README promises, with or without ``--preload``) writes them all; one that does
not loses them.
"""

from __future__ import annotations

import sqlite3
import threading

import pytest

from profiler_kit.store import open_store

REQUESTS = 12
RELEASE_AFTER_S = 1.0  # after the server is told to stop; within the writer's 5 s exit flush


@pytest.mark.parametrize(
    "preload", [pytest.param(False, id="import-in-worker"), pytest.param(True, id="preload")]
)
def test_worker_exit_flushes_captures_still_queued(flask_servers, tmp_path, preload) -> None:
    """SIGTERM while every capture is still queued (store locked): all of them are written."""
    store = tmp_path / "captures.sqlite3"
    open_store(store).close()
    locker = sqlite3.connect(store, isolation_level=None, timeout=5, check_same_thread=False)
    locker.execute("BEGIN IMMEDIATE")  # the workers' writers now wait for the lock
    release = threading.Timer(RELEASE_AFTER_S, lambda: locker.execute("COMMIT"))
    try:
        with flask_servers.serve(
            sample_rate=1,
            slow_ms=0,
            store=store,
            gunicorn_args=("--preload",) if preload else (),
        ) as app:
            statuses = [app.get(f"/items/{n}").status for n in range(REQUESTS)]
            assert statuses == [200] * REQUESTS
            assert app.captures() == [], "precondition: nothing written while the lock is held"
            release.start()
        # Leaving the block sent SIGTERM and waited for gunicorn to exit.
    finally:
        release.cancel()
        release.join()
        if locker.in_transaction:
            locker.execute("COMMIT")
        locker.close()
    paths = sorted(c.path for c in app.captures())
    assert paths == sorted(f"/items/{n}" for n in range(REQUESTS))
    assert not [pid for pid, s in app.worker_stats().items() if s["pending_at_exit"]]
