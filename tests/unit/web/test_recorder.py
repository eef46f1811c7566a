"""One request from the policy's decision to the store, through ``RequestRecorder``.

Every plugin relies on the same promises: a request left alone costs
nothing, a watched request that was fast leaves nothing behind (no hub
registration, no capture), a kept one reaches the store, and no failure of
ours ever reaches the app.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.capture.cpu import decode_profile
from profiler_kit.capture.sampler import hub
from profiler_kit.config import Settings
from profiler_kit.store import open_store
from profiler_kit.store.record import Capture
from profiler_kit.testing import read_captures
from profiler_kit.web.recorder import CURRENT, RequestRecorder
from profiler_kit.web.tokens import make_token

SECRET = "recorder-secret"


def busy_in_recorder_test(seconds: float) -> int:
    """CPU work the profile must show, for at least ``seconds`` of wall time."""
    deadline = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < deadline:
        total += sum(range(300))
    return total


def _recorder(tmp_path: Path, **changes: Any) -> RequestRecorder:
    settings = Settings(
        store=tmp_path / "captures.sqlite3",
        service="svc",
        host="web-3",
        sample_rate=0.0,
        slow_ms=10_000.0,
    ).replace(**changes)
    return RequestRecorder(settings, framework="test")


def _stored(recorder: RequestRecorder) -> list[Capture]:
    assert recorder.flush(timeout=10.0), "the writer did not drain in time"
    store_path = Path(recorder.settings.store)
    if not store_path.exists():
        return []
    with open_store(store_path, create=False) as store:
        return [store.get(summary.id) for summary in store.summaries()]


def _frame_names(capture: Capture) -> set[str]:
    assert capture.cpu_profile is not None
    return {frame.split("\x00", 1)[0] for frame in decode_profile(capture.cpu_profile).frames}


def _registered_anywhere(flight: object) -> bool:
    return any(target is flight for target in hub.registered())


@pytest.fixture(autouse=True)
def _no_flight_left_on_this_thread() -> Any:
    yield
    hub.remove(threading.get_ident())  # a failed test must not leave the next one a flight


# -- requests left alone or only watched --------------------------------------------


def test_a_request_the_policy_leaves_alone_gets_no_flight(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, enabled=False, sample_rate=1.0)
    assert recorder.start("GET", "/x", None, None, False) is None
    assert hub.target_of(threading.get_ident()) is None
    assert _stored(recorder) == []


def test_an_excluded_path_gets_no_flight(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, sample_rate=1.0, exclude_paths=("/health",))
    assert recorder.start("GET", "/health", None, None, False) is None


def test_a_watched_fast_request_leaves_nothing_registered_and_nothing_stored(
    tmp_path: Path,
) -> None:
    recorder = _recorder(tmp_path)
    flight = recorder.start("GET", "/orders/7", None, None, False)
    assert flight is not None
    assert flight.decision.reason is None and flight.decision.watch_slow
    assert hub.target_of(threading.get_ident()) is flight  # how the thread's request is found
    assert not flight.sampled or flight.start_at > time.perf_counter()  # not sampled yet
    recorder.finish(flight, 200)
    assert hub.target_of(threading.get_ident()) is None
    assert not _registered_anywhere(flight)
    assert _stored(recorder) == []
    assert recorder.stats.snapshot() == {}


def test_a_watched_fast_async_request_leaves_no_context_and_nothing_registered(
    tmp_path: Path,
) -> None:
    recorder = _recorder(tmp_path)

    async def request() -> tuple[bool, bool, Any]:
        flight = recorder.start("GET", "/orders/7", None, None, True)
        assert flight is not None
        current_during = CURRENT.get() is flight
        registered_during = hub.target_of(flight.key) is flight
        recorder.finish(flight, 200)
        return current_during, registered_during, flight

    current_during, registered_during, flight = asyncio.run(request())
    assert current_during and registered_during
    assert flight.key != threading.get_ident()  # on a loop: its own key, not the thread's
    assert hub.target_of(flight.key) is None
    assert not _registered_anywhere(flight)
    assert CURRENT.get() is None
    assert _stored(recorder) == []


def test_a_route_resolver_is_not_called_for_a_request_that_is_not_kept(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    calls: list[Any] = []
    flight = recorder.start("GET", "/orders/7", None, None, False)
    assert flight is not None
    recorder.finish(flight, 200, calls.append, {"path": "/orders/7"})
    assert calls == []


def test_a_request_left_by_its_server_is_not_judged_slow(tmp_path: Path) -> None:
    """Its duration is unknown, so it is not kept as slow however long ago it began."""
    recorder = _recorder(tmp_path, slow_ms=20.0)
    flight = recorder.start("GET", "/stream", None, None, False)
    assert flight is not None
    busy_in_recorder_test(0.03)
    recorder.finish(flight, 200, left=True)
    assert not _registered_anywhere(flight)
    assert _stored(recorder) == []


# -- kept requests ------------------------------------------------------------------


def test_a_sampled_request_is_stored_through_the_writer(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, sample_rate=1.0)
    flight = recorder.start("GET", "/orders/7", "page=2", None, False)
    assert flight is not None and flight.decision.reason == "sampled"
    busy_in_recorder_test(0.05)
    recorder.finish(flight, 200, "/orders/{id}")
    assert hub.target_of(threading.get_ident()) is None
    [capture] = _stored(recorder)
    assert capture.kind == "request"
    assert capture.reason == "sampled"
    assert (capture.method, capture.route, capture.path) == ("GET", "/orders/{id}", "/orders/7")
    assert capture.target == "GET /orders/{id}"
    assert capture.status == 200
    assert (capture.service, capture.host) == ("svc", "web-3")
    assert capture.wall_s >= 0.05
    assert capture.extra["framework"] == "test"
    assert capture.extra["async"] is False
    assert capture.extra["query"] == "page=2"
    assert "busy_in_recorder_test" in _frame_names(capture)
    assert recorder.stats.get("captures.written") == 1


def test_the_query_string_is_not_stored_when_there_is_none(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, sample_rate=1.0)
    flight = recorder.start("GET", "/orders/7", None, None, False)
    assert flight is not None
    recorder.finish(flight, 200, "/orders/{id}")
    [capture] = _stored(recorder)
    assert "query" not in capture.extra


def test_finishing_twice_is_harmless(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, sample_rate=1.0)
    flight = recorder.start("GET", "/orders/7", None, None, False)
    assert flight is not None
    recorder.finish(flight, 200, "/orders/{id}")
    recorder.finish(flight, 500, "/other")
    assert len(_stored(recorder)) == 1
    assert _stored(recorder)[0].status == 200
    assert not any(name.startswith("error.") for name in recorder.stats.snapshot())


def test_a_failing_route_resolver_costs_a_counter_not_the_request(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, sample_rate=1.0)
    sources: list[Any] = []

    def resolver(source: Any) -> str:
        sources.append(source)
        raise LookupError("no route table")

    flight = recorder.start("GET", "/orders/7", None, None, False)
    assert flight is not None
    recorder.finish(flight, 200, resolver, "the scope")
    assert sources == ["the scope"]
    assert recorder.stats.get("error.resolving the route") == 1
    [capture] = _stored(recorder)
    assert capture.route is None
    assert capture.target == "GET /orders/7"
    assert not _registered_anywhere(flight)


def test_a_route_resolver_names_the_kept_capture(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, sample_rate=1.0)
    flight = recorder.start("GET", "/orders/7", None, None, False)
    assert flight is not None
    recorder.finish(flight, 200, lambda scope: scope["route"], {"route": "/orders/{id}"})
    [capture] = _stored(recorder)
    assert capture.route == "/orders/{id}"


def test_a_failed_request_without_a_status_is_stored_as_a_500(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, sample_rate=1.0)
    flight = recorder.start("POST", "/pay", None, None, False)
    assert flight is not None
    recorder.finish(flight, None, error=True)
    [capture] = _stored(recorder)
    assert capture.status == 500
    assert capture.extra["error"] is True


def test_a_watched_request_that_turns_slow_is_kept_as_slow(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, slow_ms=40.0)
    flight = recorder.start("GET", "/report", None, None, False)
    assert flight is not None and flight.decision.reason is None
    busy_in_recorder_test(0.08)
    recorder.finish(flight, 200, "/report")
    [capture] = _stored(recorder)
    assert capture.reason == "slow"
    assert capture.wall_s >= 0.04
    assert not _registered_anywhere(flight)


def test_a_triggered_request_is_stored_as_triggered(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, trigger_secret=SECRET)
    flight = recorder.start("GET", "/orders/7", None, make_token(SECRET, 600), False)
    assert flight is not None and flight.decision.reason == "triggered"
    recorder.finish(flight, 200, "/orders/{id}")
    [capture] = _stored(recorder)
    assert capture.reason == "triggered"


def test_a_store_path_holds_only_its_own_recorders_captures(tmp_path: Path) -> None:
    first = _recorder(tmp_path / "a", sample_rate=1.0)
    second = _recorder(tmp_path / "b", sample_rate=1.0)
    flight = first.start("GET", "/only-a", None, None, False)
    assert flight is not None
    first.finish(flight, 200)
    assert [c.path for c in _stored(first)] == ["/only-a"]
    assert second.flush() and read_captures(Path(second.settings.store)) == []


# -- failures -------------------------------------------------------------------------


def test_a_failing_capture_hook_serves_the_request_unprofiled(tmp_path: Path) -> None:
    def hook(method: str, path: str) -> bool:
        raise RuntimeError("hook broke")

    settings = Settings(store=tmp_path / "captures.sqlite3", service="svc", host="h")
    recorder = RequestRecorder(settings, framework="test", hook=hook)
    assert recorder.start("GET", "/x", None, None, False) is None
    assert recorder.stats.get("error.starting a capture") == 1
    assert hub.target_of(threading.get_ident()) is None
