"""The per-minute capture budget holds under the Django middleware."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

NewId = Callable[[], int]
SERVER_KINDS = ("gunicorn", "uvicorn")
BUDGET = 3
REQUESTS = 10


@pytest.fixture(scope="module", params=SERVER_KINDS)
def server(request: pytest.FixtureRequest, django_servers: Any) -> Iterator[Any]:
    """Everything sampled, at most 3 captures a minute, one process (one budget)."""
    env = {
        "PROFILER_KIT_SAMPLE_RATE": "1",
        "PROFILER_KIT_MAX_CAPTURES_PER_MINUTE": str(BUDGET),
        "PROFILER_KIT_SLOW_MS": "0",
    }
    with django_servers.start(request.param, env, workers=1) as started:
        yield started


def test_over_budget_requests_are_served_but_not_captured(server: Any, new_id: NewId) -> None:
    """Ten sampled requests (sync and async views) in a second: exactly 3 captures, ten 200s."""
    paths = [f"{('/fast/', '/async-fast/')[i % 2]}{new_id()}" for i in range(REQUESTS)]
    replies = [server.get(path) for path in paths]
    assert [r.status for r in replies] == [200] * REQUESTS
    assert sum(r.elapsed_s for r in replies) < 10  # the bucket refills 1 token per 20 s

    found = server.wait_for(BUDGET, lambda c: c.path in paths)
    assert len(found) == BUDGET, server.log_tail()
    assert server.captures_of(*paths) == found  # still exactly 3 after a pause
    # The budget is spent by the first requests; later ones are skipped.
    assert [c.path for c in found] == paths[:BUDGET]
    assert {c.reason for c in found} == {"sampled"}
