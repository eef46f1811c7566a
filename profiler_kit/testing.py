"""Helpers for tests that assert on captures, ours and users' alike.

Captures reach the store through a background writer, so a test that has
just sent a request must wait for them::

    from profiler_kit.testing import wait_for_captures

    captures = wait_for_captures(store_path, 1, where=lambda c: c.route == "/checkout")
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from profiler_kit.errors import StoreError
from profiler_kit.store import CaptureSummary, open_store

__all__ = ["read_captures", "wait_for_captures"]


def read_captures(
    store: Path, where: Callable[[CaptureSummary], bool] | None = None
) -> list[CaptureSummary]:
    """Captures in a store (oldest first); an absent or unreadable store reads as empty."""
    if not Path(store).exists():
        return []
    try:
        with open_store(store, create=False) as opened:
            summaries = opened.summaries()
    except StoreError:
        return []
    chosen = [s for s in summaries if where is None or where(s)]
    return sorted(chosen, key=lambda s: (s.started_at, s.id))


def wait_for_captures(
    store: Path,
    count: int,
    *,
    timeout: float = 20.0,
    settle: float = 0.3,
    where: Callable[[CaptureSummary], bool] | None = None,
) -> list[CaptureSummary]:
    """Poll the store until it holds at least ``count`` matching captures.

    Then waits ``settle`` seconds and reads again, so that an unexpected extra
    capture written just after is seen too. Returns what it found, oldest
    first, even when the timeout ran out first: the caller asserts on it.
    """
    deadline = time.monotonic() + timeout
    found: list[CaptureSummary] = []
    while time.monotonic() < deadline:
        found = read_captures(store, where)
        if len(found) >= count:
            time.sleep(settle)
            return read_captures(store, where)
        time.sleep(0.05)
    return found
