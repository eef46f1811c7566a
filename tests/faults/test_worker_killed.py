"""A gunicorn worker SIGKILLed while it writes captures under load.

Flask under gunicorn (1 sync worker, respawned by the master after each kill),
every request captured, client threads saturating it. The worker is killed
``KILLS`` times, each time while its writer has captures queued (the state
header of its latest response says so), i.e. while the writer thread is busy
building and committing batches.

What can be measured honestly, per killed worker: ``answered`` (responses
that carry its pid), ``stored`` (captures in the store with its pid) and,
from the ``X-PK-State`` header of its last answered response, the counters it
had at that moment (``written_then``, ``dropped_then``, ``depth_then``). A
SIGKILL can lose what the writer had not committed: the captures in its queue
(at most ``queue_size``), the batch it was building or writing (at most
``writer.BATCH``), and the last request's own capture (submitted after its
state was read). So:

* ``stored >= written_then``: nothing committed is lost (WAL, synchronous=NORMAL:
  a process crash keeps every commit; only an OS crash may not);
* ``answered - dropped_then - stored <= queue_size + BATCH + 1``;
* the store stays intact (``PRAGMA integrity_check`` = ok), opens, and
  ``profiler-kit ls`` lists it; ids are unique;
* the respawned worker captures normally, and at most the killed worker's
  in-flight request fails on the client side.
"""

from __future__ import annotations

import os
import signal
import time

from profiler_kit.store import open_store
from profiler_kit.web.writer import BATCH

KILLS = 3
CLIENT_THREADS = 4
WARM_S = 1.5


def _latest_from(replies, pid):  # type: ignore[no-untyped-def]
    """The state header of the last response the worker ``pid`` answered."""
    mine = [r.state for _, _, r, _ in replies if r.worker_pid == pid and r.state]
    return max(mine, key=lambda s: s["served"]) if mine else None


def _wait_writing(clients, pid: int, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    """Wait until worker ``pid`` has written captures and has more queued."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with clients._lock:
            recent = list(clients.replies[-20:])
        states = [r.state for _, _, r, _ in recent if r.worker_pid == pid and r.state]
        if states:
            latest = max(states, key=lambda s: s["served"])
            if latest["depth"] > 0 and latest["counters"].get("captures.written", 0) > 0:
                return latest
        time.sleep(0.005)
    raise AssertionError(f"worker {pid} never had captures queued")


def _current_pid(clients, after: set[int], timeout: float = 30.0) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with clients._lock:
            recent = list(clients.replies[-10:])
        pids = [r.worker_pid for _, _, r, _ in recent if r.worker_pid and r.worker_pid not in after]
        if pids:
            return pids[-1]
        time.sleep(0.05)
    raise AssertionError("no (new) worker answered")


def test_worker_killed_mid_write_loses_at_most_its_queue(fault_servers, load, store_tools) -> None:
    killed: list[int] = []
    with fault_servers.serve("flask") as app:
        clients = load.start(
            app.url, lambda n: f"/items/{n}", threads=CLIENT_THREADS, max_seconds=120
        )
        time.sleep(WARM_S)
        for _ in range(KILLS):
            pid = _current_pid(clients, set(killed))
            _wait_writing(clients, pid)
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        survivor = _current_pid(clients, set(killed))
        _wait_writing(clients, survivor)
        replies = clients.stop()
        final = app.wait_idle()
        assert final["pid"] == survivor
        stored = app.captures()
        ls = store_tools.cli("ls", "--store", str(app.store), "--all")
        integrity = store_tools.integrity(app.store)
        output = app.output()
    with open_store(app.store, create=False) as store:
        count = store.count()

    assert integrity == "ok"
    assert ls.returncode == 0, ls.stderr
    assert count == len(stored) == len({c.id for c in stored})
    assert ls.stdout.count("GET /items/<int:item_id>") == len(stored)
    failed = [r for _, _, r, _ in replies if r.status != 200]
    # Only a request a killed worker was serving may fail (a sync worker serves one).
    assert len(failed) <= KILLS, [r.error for r in failed]
    assert all(r.status == -1 for r in failed), failed
    lines = []
    for pid in killed:
        answered = sum(1 for _, _, r, _ in replies if r.worker_pid == pid and r.status == 200)
        last = _latest_from(replies, pid)
        assert last is not None
        on_store = sum(1 for c in stored if c.pid == pid)
        written_then = last["counters"].get("captures.written", 0)
        dropped_then = store_tools.dropped(last)
        lost = answered - dropped_then - on_store
        lines.append(
            f"worker {pid}: answered {answered}, stored {on_store}; at its last answer "
            f"written {written_then}, dropped {dropped_then}, queued {last['depth']}; "
            f"lost {lost}"
        )
        assert on_store >= written_then, lines[-1]
        assert on_store <= answered, lines[-1]
        assert 0 <= lost <= last["queue_size"] + BATCH + 1, lines[-1]
    # The respawned worker captures completely.
    on_store = sum(1 for c in stored if c.pid == survivor)
    assert on_store == final["counters"]["captures.written"]
    assert store_tools.accounted(final) == final["served"]
    assert f"Worker (pid:{killed[0]}) was sent SIGKILL" in output
    print("\n" + "\n".join(lines) + f"\nsurvivor {survivor}: {final}; failed requests {failed}")
