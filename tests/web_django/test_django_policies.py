"""Capture policies (sampled, excluded, slow, triggered) through the Django middleware."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from profiler_kit.web.tokens import make_token

NewId = Callable[[], int]
SERVER_KINDS = ("gunicorn", "uvicorn")
SECRET = "django-policy-secret"  # a test secret
# view kind -> URL prefix of a fast view, of a 0.5 s sleeping view, and the sleeping function
FAST = {"sync": "/fast/", "async": "/async-fast/"}
SLEEPY = {"sync": ("/sleep/", "sleepy"), "async": ("/async-sleep/", "async_sleepy")}
HEALTH = {"sync": "/health/sync/", "async": "/health/async/"}
# After a later request's capture was stored: the pause before asserting an earlier one's absence.
MARKER_SETTLE_S = 0.5


@pytest.fixture(scope="module", params=SERVER_KINDS)
def sampled_server(request: pytest.FixtureRequest, django_servers: Any) -> Iterator[Any]:
    """Everything sampled, except /health*."""
    env = {
        "PROFILER_KIT_SAMPLE_RATE": "1",
        "PROFILER_KIT_EXCLUDE_PATHS": "/health*",
        "PROFILER_KIT_MAX_CAPTURES_PER_MINUTE": "100000",
    }
    with django_servers.start(request.param, env) as started:
        yield started


@pytest.fixture(scope="module", params=SERVER_KINDS)
def watching_server(request: pytest.FixtureRequest, django_servers: Any) -> Iterator[Any]:
    """Nothing sampled; slow requests (200 ms) and triggered ones are kept."""
    env = {
        "PROFILER_KIT_SAMPLE_RATE": "0",
        "PROFILER_KIT_SLOW_MS": "200",
        "PROFILER_KIT_TRIGGER_SECRET": SECRET,
    }
    with django_servers.start(request.param, env) as started:
        yield started


# -- sampled -----------------------------------------------------------------


@pytest.mark.parametrize("view", ["sync", "async"])
def test_sample_rate_one_captures_every_request(
    sampled_server: Any, view: str, new_id: NewId
) -> None:
    """SAMPLE_RATE=1 keeps each of several requests, with reason "sampled"."""
    paths = [f"{FAST[view]}{new_id()}" for _ in range(6)]
    for path in paths:
        assert sampled_server.get(path).status == 200
    found = sampled_server.wait_for(len(paths), lambda c: c.path in paths)
    assert sorted(c.path for c in found) == sorted(paths), sampled_server.log_tail()
    assert {c.reason for c in found} == {"sampled"}


@pytest.mark.parametrize("view", ["sync", "async"])
def test_sample_rate_zero_captures_no_fast_request(
    watching_server: Any, view: str, new_id: NewId
) -> None:
    """SAMPLE_RATE=0 keeps none of several fast requests."""
    paths = [f"{FAST[view]}{new_id()}" for _ in range(6)]
    for path in paths:
        reply = watching_server.get(path)
        assert reply.status == 200
        assert reply.body == f"fast {view} {path.rsplit('/', 1)[1]}".encode()
    _triggered_marker(watching_server, view, new_id)
    assert watching_server.captures_of(*paths, settle=MARKER_SETTLE_S) == []


def _triggered_marker(server: Any, view: str, new_id: NewId) -> None:
    """A triggered request sent after others: once it is stored, theirs would be too."""
    marker = f"{FAST[view]}{new_id()}"
    server.get(marker, headers={"X-Profiler-Kit-Token": make_token(SECRET, 60)})
    assert [c.reason for c in server.wait_for_path(marker)] == ["triggered"]


# -- excluded ----------------------------------------------------------------


@pytest.mark.parametrize("view", ["sync", "async"])
def test_excluded_paths_are_not_captured(sampled_server: Any, view: str, new_id: NewId) -> None:
    """EXCLUDE_PATHS=/health* leaves /health/... alone while other paths are still sampled."""
    health = [f"{HEALTH[view]}{new_id()}" for _ in range(3)]
    control = f"{FAST[view]}{new_id()}"
    for path in health:
        assert sampled_server.get(path).status == 200
    assert sampled_server.get(control).status == 200
    sampled_server.wait_for_path(control)
    assert sampled_server.captures_of(*health, settle=MARKER_SETTLE_S) == []


# -- slow --------------------------------------------------------------------


@pytest.mark.parametrize("view", ["sync", "async"])
def test_slow_request_is_kept_and_fast_one_is_not(
    watching_server: Any, view: str, new_id: NewId
) -> None:
    """With SLOW_MS=200 a 0.5 s view is kept with reason "slow"; a fast view is not."""
    fast = f"{FAST[view]}{new_id()}"
    prefix, sleeper = SLEEPY[view]
    slow = f"{prefix}{new_id()}"
    assert watching_server.get(fast).status == 200
    reply = watching_server.get(slow)
    assert reply.status == 200
    assert reply.elapsed_s >= 0.5

    (capture,) = watching_server.wait_for_path(slow)
    assert capture.reason == "slow"
    assert capture.status == 200
    assert capture.route == f"{prefix}<int:n>"
    assert 0.49 <= capture.wall_s <= reply.elapsed_s + 0.05
    assert capture.extra["async"] is watching_server.is_async
    if view == "sync":
        # Blocked in time.sleep for the whole request: the sampler saw it there.
        names = watching_server.frame_names(capture.id)
        assert sleeper in names, f"{sleeper} not among {sorted(names)}"
    assert watching_server.captures_of(fast, settle=MARKER_SETTLE_S) == []


# -- triggered ---------------------------------------------------------------


@pytest.mark.parametrize("view", ["sync", "async"])
def test_valid_token_triggers_a_capture(watching_server: Any, view: str, new_id: NewId) -> None:
    """A fresh token made with the secret, in X-Profiler-Kit-Token, captures as "triggered"."""
    path = f"{FAST[view]}{new_id()}"
    reply = watching_server.get(path, headers={"X-Profiler-Kit-Token": make_token(SECRET, 60)})
    assert reply.status == 200
    (capture,) = watching_server.wait_for_path(path)
    assert capture.reason == "triggered"
    assert capture.route == f"{FAST[view]}<int:n>"
    assert capture.status == 200


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "forged": lambda: make_token("not-the-secret", 60),
    "expired": lambda: make_token(SECRET, 60, now=time.time() - 3600),
    "malformed": lambda: "pk1.garbage",
}


@pytest.mark.parametrize("view", ["sync", "async"])
def test_bad_tokens_are_ignored(watching_server: Any, view: str, new_id: NewId) -> None:
    """A forged, expired or malformed token captures nothing and the response is the normal 200."""
    paths = []
    for kind, make in BAD_TOKENS.items():
        number = new_id()
        path = f"{FAST[view]}{number}"
        reply = watching_server.get(path, headers={"X-Profiler-Kit-Token": make()})
        assert (reply.status, reply.body) == (200, f"fast {view} {number}".encode()), kind
        paths.append(path)
    # The same server does honour a good token (so "no capture" is the tokens' doing).
    _triggered_marker(watching_server, view, new_id)
    assert watching_server.captures_of(*paths, settle=MARKER_SETTLE_S) == []
