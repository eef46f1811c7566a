"""Concurrent requests in one worker (gunicorn gthread): each capture holds only its own request."""

from __future__ import annotations

import threading

import pytest

BURN_MS = SLEEP_MS = 300


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        pytest.param({"sample_rate": 1, "slow_ms": 0}, "sampled", id="sampled"),
        pytest.param({"sample_rate": 0, "slow_ms": 100}, "slow", id="slow-watch"),
    ],
)
def test_concurrent_requests_are_profiled_apart(flask_servers, settings, reason) -> None:
    """-k gthread --threads 4: overlapping CPU and sleep requests; no frames or CPU cross over."""
    paths = [f"/cpu/{BURN_MS + i}" for i in (0, 1)] + [f"/sleep/{SLEEP_MS + i}" for i in (0, 1)]
    statuses: dict[str, int] = {}
    with flask_servers.serve(gunicorn_args=("-k", "gthread", "--threads", "4"), **settings) as app:
        start = threading.Barrier(len(paths), timeout=30)

        def fetch(path: str) -> None:
            start.wait()
            statuses[path] = app.get(path).status

        clients = [threading.Thread(target=fetch, args=(path,)) for path in paths]
        for client in clients:
            client.start()
        for client in clients:
            client.join(60)
        assert not any(c.is_alive() for c in clients)
        app.wait_for(len(paths))
    assert statuses == dict.fromkeys(paths, 200)
    captures = app.captures()
    assert sorted((c.path, c.reason) for c in captures) == sorted((p, reason) for p in paths)
    assert len({c.pid for c in captures}) == 1, "one worker served every request"
    burners = [c for c in captures if c.path.startswith("/cpu/")]
    sleepers = [c for c in captures if c.path.startswith("/sleep/")]
    # Precondition: every CPU request overlapped every sleeping one.
    for cpu in burners:
        for sleeper in sleepers:
            assert cpu.started_at < sleeper.started_at + sleeper.wall_s
            assert sleeper.started_at < cpu.started_at + cpu.wall_s
    for capture in captures:
        names = {f.name for f in app.view(capture.id).tree.frames}
        if capture in burners:
            assert "burn_cpu_hot_loop" in names
            assert capture.cpu_s >= BURN_MS / 1000
        else:
            assert "burn_cpu_hot_loop" not in names, f"{capture.path} holds another request"
            assert capture.cpu_s < BURN_MS / 1000 / 3, f"{capture.path} counts another's CPU"
