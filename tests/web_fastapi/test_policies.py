"""Which requests a FastAPI app under uvicorn captures, and what the captures say."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from profiler_kit.testing import wait_for_captures


def _not_sentinel(capture: Any) -> bool:
    return not (capture.path or "").startswith("/sentinel/")


@pytest.fixture(scope="module")
def quiet_server(launcher: Any) -> Iterator[Any]:
    """Sampling off and a slow threshold no request reaches."""
    with launcher.run("quiet", {"sample_rate": "0", "slow_ms": "60000"}) as server:
        yield server


@pytest.fixture(scope="module")
def slow_server(launcher: Any) -> Iterator[Any]:
    """Sampling off; requests slower than 200 ms are kept."""
    with launcher.run("slow", {"sample_rate": "0", "slow_ms": "200"}) as server:
        yield server


# -- sampled -------------------------------------------------------------------


def test_sample_rate_one_captures_each_request_once_with_route_template(
    sampled_server: Any, uid: Callable[[], int]
) -> None:
    """SAMPLE_RATE=1: every request gives one "sampled" capture with its route template."""
    sent: list[tuple[str, str]] = []
    for _ in range(3):
        sent.append((f"/items/{uid()}", "/items/{item_id}"))
        sent.append((f"/sync/{uid()}", "/sync/{item_id}"))
        sent.append((f"/plain/{uid()}", "/plain/{n}"))
    for path, _ in sent:
        assert sampled_server.get(path).status == 200
    sampled_server.flush()
    for path, route in sent:
        captures = sampled_server.for_path(path)
        assert len(captures) == 1, (path, captures)
        capture = captures[0]
        assert (capture.reason, capture.route, capture.method, capture.status) == (
            "sampled",
            route,
            "GET",
            200,
        )
        assert capture.target == f"GET {route}"
        assert capture.extra["framework"] == "fastapi"


def test_sample_rate_zero_with_high_slow_threshold_captures_nothing(
    quiet_server: Any, uid: Callable[[], int]
) -> None:
    """SAMPLE_RATE=0 and a slow threshold above every request: no capture at all."""
    paths = [f"/items/{uid()}", f"/sync/{uid()}", f"/slow-async/{uid()}", f"/missing/{uid()}"]
    for path in paths:
        assert quiet_server.get(path).status in (200, 404)
    quiet_server.flush()
    assert quiet_server.captures(_not_sentinel) == []


# -- slow ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "route"),
    [("/slow-async", "/slow-async/{n}"), ("/slow-sync", "/slow-sync/{n}")],
    ids=["async-asyncio-sleep", "def-time-sleep"],
)
def test_request_slower_than_slow_ms_is_kept_as_slow(
    slow_server: Any, uid: Callable[[], int], endpoint: str, route: str
) -> None:
    """SAMPLE_RATE=0, SLOW_MS=200: a 0.5 s sleeping endpoint gives one "slow" capture."""
    path = f"{endpoint}/{uid()}"
    assert slow_server.get(path).status == 200
    slow_server.flush()
    captures = slow_server.for_path(path)
    assert len(captures) == 1, captures
    capture = captures[0]
    assert (capture.reason, capture.route, capture.status) == ("slow", route, 200)
    slow_ms = float(slow_server.env["PROFILER_KIT_SLOW_MS"])
    assert capture.wall_s * 1000 >= slow_ms


def test_fast_request_is_not_kept_when_only_slow_ones_are(
    slow_server: Any, uid: Callable[[], int]
) -> None:
    """SAMPLE_RATE=0, SLOW_MS=200: fast requests leave no capture."""
    paths = [f"/fast/{uid()}" for _ in range(5)] + [f"/sync/{uid()}" for _ in range(3)]
    for path in paths:
        assert slow_server.get(path).status == 200
    slow_server.flush()
    assert slow_server.captures(lambda c: c.path in paths) == []


@pytest.mark.parametrize(
    ("endpoint", "function"),
    [
        ("/slow-cpu-async", "slow_cpu_burner_async_xyz"),
        ("/slow-cpu-sync", "slow_cpu_burner_sync_xyz"),
    ],
    ids=["async", "def"],
)
def test_slow_cpu_bound_request_profile_shows_its_hot_function(
    slow_server: Any, profiles: Any, uid: Callable[[], int], endpoint: str, function: str
) -> None:
    """Late sampling: a CPU-bound slow request's capture profiles its busy function."""
    path = f"{endpoint}/{uid()}"
    assert slow_server.get(path).status == 200
    slow_server.flush()
    captures = slow_server.for_path(path)
    assert len(captures) == 1, captures
    capture = captures[0]
    assert capture.reason == "slow"
    view = slow_server.view(capture.id)
    assert function in profiles.frame_names(view)
    # Sampling begins part-way through; from then on the busy loop is nearly all there is.
    sampled_for = capture.wall_s - capture.extra["sampling_began_ms"] / 1000
    assert sampled_for > 0
    assert profiles.total_time(view, function) >= 0.5 * sampled_for


# -- exclusions ----------------------------------------------------------------


def test_excluded_paths_are_never_captured(sampled_server: Any, uid: Callable[[], int]) -> None:
    """EXCLUDE_PATHS=/health*: /health and /health/... are skipped, other paths still sampled."""
    excluded = ["/health", f"/health/live-{uid()}", f"/health/ready-{uid()}"]
    included = f"/items/{uid()}"
    for path in [*excluded, included]:
        assert sampled_server.get(path).status == 200
    sampled_server.flush()
    assert sampled_server.captures(lambda c: (c.path or "").startswith("/health")) == []
    assert len(sampled_server.for_path(included)) == 1


# -- budget --------------------------------------------------------------------


def test_captures_stop_at_the_per_minute_budget_and_requests_still_succeed(
    launcher: Any, uid: Callable[[], int]
) -> None:
    """SAMPLE_RATE=1, MAX_CAPTURES_PER_MINUTE=3: 10 requests give exactly 3 captures, all 200."""
    settings = {"sample_rate": "1", "slow_ms": "0", "max_captures_per_minute": "3"}
    with launcher.run("budget", settings) as server:
        paths = [f"/items/{uid()}" for _ in range(10)]
        statuses = [server.get(path).status for path in paths]
        assert statuses == [200] * 10
        # No sentinel here (it would spend budget): wait, then settle a while longer.
        captures = wait_for_captures(server.store, 3, settle=1.5)
        assert len(captures) == 3, [c.path for c in captures]
        assert {c.path for c in captures} <= set(paths)
        assert {c.reason for c in captures} == {"sampled"}


# -- statuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "route", "status"),
    [
        ("/missing", "/missing/{thing}", 404),
        ("/boom", "/boom/{n}", 500),
        ("/boom-sync", "/boom-sync/{n}", 500),
    ],
    ids=["http-exception-404", "async-unhandled-500", "def-unhandled-500"],
)
def test_error_statuses_are_recorded_and_responses_unchanged(
    sampled_server: Any,
    reference_server: Any,
    uid: Callable[[], int],
    endpoint: str,
    route: str,
    status: int,
) -> None:
    """HTTPException 404 and unhandled 500: captured with that status; response as if unprofiled."""
    path = f"{endpoint}/{uid()}"
    profiled = sampled_server.get(path)
    reference = reference_server.get(path)
    assert reference.status == status
    assert (profiled.status, profiled.body) == (reference.status, reference.body)
    assert profiled.headers.get("content-type") == reference.headers.get("content-type")
    sampled_server.flush()
    captures = sampled_server.for_path(path)
    assert len(captures) == 1, captures
    capture = captures[0]
    assert (capture.status, capture.route, capture.reason) == (status, route, "sampled")
    assert capture.extra.get("error", False) is (status == 500)
    assert sampled_server.alive()
