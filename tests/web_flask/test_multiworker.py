"""Completeness under load: 4 gunicorn workers, every request captured exactly once."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

REQUESTS = 2_000
CLIENT_THREADS = 8
WORKERS = 4
LOAD_DEADLINE_S = 90.0  # the whole load must be sent within this; the test fails otherwise


def _send_share(
    url: str, share: range, deadline: float, results: dict[int, tuple[int, bytes]]
) -> None:
    """GET /items/<n> for each n of this thread's share, on one reused connection object."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        for n in share:
            if time.monotonic() > deadline:
                return
            try:
                conn.request("GET", f"/items/{n}")
                reply = conn.getresponse()
                results[n] = (reply.status, reply.read())
            except (OSError, http.client.HTTPException) as error:
                results[n] = (-1, repr(error).encode())
                conn.close()  # reconnects on the next request
    finally:
        conn.close()


def test_four_workers_capture_every_request_exactly_once(flask_servers) -> None:
    """-w 4, SAMPLE_RATE=1, 2,000 unique requests: 2,000 captures, one per request, none dropped."""
    results: dict[int, tuple[int, bytes]] = {}
    with flask_servers.serve(
        workers=WORKERS,
        sample_rate=1,
        slow_ms=0,
        queue_size=10_000,
        max_captures_per_minute=100_000,
    ) as app:
        deadline = time.monotonic() + LOAD_DEADLINE_S
        threads = [
            threading.Thread(
                target=_send_share,
                args=(app.url, range(i, REQUESTS, CLIENT_THREADS), deadline, results),
            )
            for i in range(CLIENT_THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(LOAD_DEADLINE_S + 35)
        assert not any(t.is_alive() for t in threads), "client threads did not finish"
    # Leaving the block SIGTERMed gunicorn: every worker flushed its writer and exited.
    assert sorted(results) == list(range(REQUESTS)), "not every request was sent in time"
    bad = {n: r for n, r in results.items() if r[0] != 200 or json.loads(r[1]) != {"id": n}}
    assert not bad, f"{len(bad)} failed requests, e.g. {list(bad.items())[:3]}"

    captures = app.captures()
    per_path = Counter(c.path for c in captures)
    missing = [n for n in range(REQUESTS) if per_path[f"/items/{n}"] == 0]
    duplicated = {p: k for p, k in per_path.items() if k > 1}
    assert not missing, f"{len(missing)} requests never captured, e.g. {missing[:10]}"
    assert not duplicated, f"captured more than once: {list(duplicated.items())[:10]}"
    assert len(captures) == REQUESTS
    assert set(per_path) == {f"/items/{n}" for n in range(REQUESTS)}
    assert {(c.route, c.status, c.reason) for c in captures} == {
        ("/items/<int:item_id>", 200, "sampled")
    }

    per_pid = Counter(c.pid for c in captures)
    assert len(per_pid) > 1, f"all captures came from one worker: {per_pid}"
    stats = app.worker_stats()
    assert set(per_pid) <= set(stats), "a worker that captured did not exit cleanly"
    for pid, dumped in stats.items():
        counters = dumped["counters"]
        assert not dumped["pending_at_exit"], f"worker {pid} exited with captures queued"
        assert counters.get("dropped.queue_full", 0) == 0, (pid, counters)
        assert counters.get("dropped.store_error", 0) == 0, (pid, counters)
        assert not [k for k in counters if k.startswith("error.")], (pid, counters)
        assert counters.get("captures.written", 0) == per_pid[pid], (pid, counters)
