"""The per-minute capture budget, the bounded queue setting and the store's file modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from profiler_kit.config import SettingsError, load_settings
from profiler_kit.store import open_store
from profiler_kit.web.counters import Stats
from profiler_kit.web.policy import Budget, Policy


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_budget_allows_at_most_n_in_any_sixty_seconds() -> None:
    clock = FakeClock()
    budget = Budget(3, clock)
    granted = []
    # One attempt every 5 s for 5 minutes: no 60 s window may hold more than 3.
    for _ in range(60):
        if budget.take():
            granted.append(clock.now)
        clock.now += 5.0
    assert granted
    for start in granted:
        in_window = [t for t in granted if start <= t < start + 60.0]
        assert len(in_window) <= 3, (start, in_window)
    # And the budget is used: about 3 a minute over 5 minutes (whole seconds
    # are counted, so a slot frees up to a second after its minute).
    assert len(granted) >= 12


def test_budget_refills_after_a_minute() -> None:
    clock = FakeClock()
    budget = Budget(2, clock)
    assert budget.take() and budget.take()
    assert not budget.take()
    clock.now += 59.9
    assert not budget.take()
    clock.now += 1.1
    assert budget.take()


def test_budget_never_exceeds_n_in_any_minute_with_fractional_times() -> None:
    clock = FakeClock()
    budget = Budget(3, clock)
    clock.now = 1000.9
    assert budget.take() and budget.take() and budget.take()
    clock.now = 1060.0  # 59.1 s later: still inside the minute
    assert not budget.take()


def test_zero_budget_captures_nothing_and_watches_nothing() -> None:
    settings = load_settings({"max_captures_per_minute": 0, "sample_rate": 1.0}, environ={})
    policy = Policy(settings, Stats())
    assert policy.decide("/x", None) is None


@pytest.mark.parametrize("size", ["0", "-1"])
def test_queue_size_must_be_bounded(size: str) -> None:
    with pytest.raises(SettingsError, match="queue_size"):
        load_settings({"queue_size": size}, environ={})


def test_new_store_is_private_to_its_user(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "captures.sqlite3"
    with open_store(path):
        pass
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
