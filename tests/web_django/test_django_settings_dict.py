"""Django's ``settings.PROFILER_KIT`` dict configures the middleware."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

NewId = Callable[[], int]
SERVER_KINDS = ("gunicorn", "uvicorn")


@pytest.fixture(scope="module", params=SERVER_KINDS)
def server(request: pytest.FixtureRequest, django_servers: Any) -> Iterator[Any]:
    """PROFILER_KIT = {"sample_rate": 1.0, "exclude_paths": ["/skip*"]} in Django's settings.

    The environment says SAMPLE_RATE=0: the dict must win over it, as documented.
    """
    env = {"PK_TEST_SETTINGS_DICT": "1", "PROFILER_KIT_SAMPLE_RATE": "0"}
    with django_servers.start(request.param, env) as started:
        yield started


@pytest.mark.parametrize("view", ["sync", "async"])
def test_settings_dict_samples_all_but_excluded_paths(
    server: Any, view: str, new_id: NewId
) -> None:
    """With the dict, /skip/... is not captured while every other request is sampled."""
    others = [f"{('/fast/', '/async-fast/')[view == 'async']}{new_id()}" for _ in range(3)]
    skipped = [f"/skip/{new_id()}" for _ in range(3)]
    for path in skipped + others:
        assert server.get(path).status == 200
    found = server.wait_for(len(others), lambda c: c.path in others)
    assert sorted(c.path for c in found) == sorted(others), server.log_tail()
    assert {c.reason for c in found} == {"sampled"}
    assert server.captures_of(*skipped, settle=0.5) == []
