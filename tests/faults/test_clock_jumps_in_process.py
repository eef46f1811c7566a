"""Wall-clock jumps, in process: ids, the budget and retention with ``time.time`` jumping.

Complements test_clock_jumps.py (real server under libfaketime, skipped where
libfaketime is missing): these run anywhere, by patching ``time.time`` /
``time.time_ns`` to jump an hour either way.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

from profiler_kit.config import Settings
from profiler_kit.store import open_store
from profiler_kit.store.ids import capture_id_time, new_capture_id
from profiler_kit.store.record import Capture
from profiler_kit.web.counters import Stats
from profiler_kit.web.policy import Policy
from profiler_kit.web.writer import BackgroundWriter

HOUR = 3600.0


class JumpingClock:
    """Stands in for ``time.time``/``time.time_ns``: the real clock plus a settable offset."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._time = time.time
        self._time_ns = time.time_ns

    def time(self) -> float:
        return self._time() + self.offset

    def time_ns(self) -> int:
        return self._time_ns() + int(self.offset * 1e9)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> JumpingClock:
    jumping = JumpingClock()
    monkeypatch.setattr(time, "time", jumping.time)
    monkeypatch.setattr(time, "time_ns", jumping.time_ns)
    return jumping


def _capture(target: str) -> Capture:
    now = time.time()
    return Capture(
        id=new_capture_id(now), kind="request", service="svc", host="host", pid=os.getpid(),
        started_at=now, wall_s=0.01, cpu_s=0.01, reason="sampled", target=target,
    )  # fmt: skip


def test_capture_ids_stay_unique_and_track_the_jumping_clock(clock: JumpingClock) -> None:
    ids = []
    for offset in (0.0, -HOUR, +HOUR, 0.0) * 500:
        clock.offset = offset
        ids.append((new_capture_id(), time.time()))
        ids.append((new_capture_id(time.time()), time.time()))
    assert len({capture_id for capture_id, _ in ids}) == len(ids)
    for capture_id, now in ids:
        assert abs(capture_id_time(capture_id) - now) < 0.01


def test_budget_ignores_wall_clock_jumps(clock: JumpingClock) -> None:
    """The default budget clock is monotonic: a wall-clock jump frees nothing, blocks nothing."""
    policy = Policy(Settings(sample_rate=1.0, max_captures_per_minute=5), Stats())
    taken = [policy.budget.take() for _ in range(5)]
    clock.offset = +HOUR
    taken.append(policy.budget.take())  # a wall-clock window would see a fresh minute
    clock.offset = -HOUR
    taken.append(policy.budget.take())
    assert taken == [True] * 5 + [False, False]


def test_retention_after_the_clock_steps_back_keeps_new_captures(
    tmp_path: Path, clock: JumpingClock
) -> None:
    stats = Stats()
    writer = BackgroundWriter(tmp_path / "captures.sqlite3", stats, max_captures=40)
    for _ in range(64):
        assert writer.submit(lambda: _capture("before the jump"))
    assert writer.flush(timeout=10)
    clock.offset = -HOUR
    for _ in range(64):
        assert writer.submit(lambda: _capture("after the jump"))
    assert writer.flush(timeout=10)
    with open_store(tmp_path / "captures.sqlite3", create=False) as store:
        kept = Counter(summary.target for summary in store.summaries())
    assert sum(kept.values()) == 40, kept
    # What an operator expects to keep: what was captured most recently.
    assert kept["after the jump"] == 40, kept
