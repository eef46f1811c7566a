"""Per-request capture decisions: which requests to profile, and how.

Production-safe by construction: sampling is rare by default, a request is
kept for being slow only within a per-minute budget, and the on-demand
trigger does nothing until a secret is configured.
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from profiler_kit.config import Settings
from profiler_kit.store.record import KeepReason
from profiler_kit.web.counters import Stats
from profiler_kit.web.tokens import TokenCheck, check_token

__all__ = ["Budget", "CaptureHook", "Decision", "Policy"]

CaptureHook = Callable[[str, str], "bool | None"]


@dataclass(frozen=True)
class Decision:
    """What to do with one request.

    ``reason`` set: profile from the first line (sampled or triggered).
    ``watch_slow``: profile nothing now, but keep the request if it turns out
    slower than ``slow_ms``.
    """

    reason: KeepReason | None
    watch_slow: bool
    memory: bool


_WATCH = Decision(reason=None, watch_slow=True, memory=False)


class Budget:
    """At most ``per_minute`` captures in any 60 seconds, counted per second.

    Stricter than a token bucket, which would allow a full bucket plus a
    minute's refill inside one minute. Sixty one-second counters keep memory
    constant whatever the budget, and a running total makes a take O(1): the
    counters that left the window are subtracted once a second, not summed
    for every capture (with ``sample_rate=1`` that is every request).
    """

    WINDOW_S = 60
    # Whole seconds counted: the current one and the 60 before it, so that a
    # capture late in one second still counts a full minute later.
    SLOTS = WINDOW_S + 1

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = per_minute
        self._seconds = [-(10**9)] * self.SLOTS  # which second each slot counts
        self._counts = [0] * self.SLOTS
        self._used = 0  # the sum of the counts still in the window
        self._second: int | None = None  # the second the window was last moved to
        self._clock = clock
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            second = int(self._clock())
            if second != self._second:
                self._move_to(second)
            if self._used >= self.capacity:
                return False
            self._counts[second % self.SLOTS] += 1
            self._used += 1
            return True

    def _move_to(self, second: int) -> None:
        oldest = second - self.WINDOW_S
        counts, seconds = self._counts, self._seconds
        for slot in range(self.SLOTS):
            if counts[slot] and seconds[slot] < oldest:
                self._used -= counts[slot]
                counts[slot] = 0
        slot = second % self.SLOTS
        if seconds[slot] != second:
            self._used -= counts[slot]
            seconds[slot], counts[slot] = second, 0
        self._second = second


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


class Policy:
    def __init__(
        self,
        settings: Settings,
        stats: Stats,
        *,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        hook: CaptureHook | None = None,
    ) -> None:
        self.settings = settings
        self.hook = hook
        self.stats = stats
        self._rng = rng
        self._include = _compile(settings.include_paths)
        self._exclude = _compile(settings.exclude_paths)
        self.budget = Budget(settings.max_captures_per_minute, clock)
        self.trigger_header = settings.trigger_header.lower()
        watch = settings.slow_ms > 0 and settings.max_captures_per_minute > 0
        self._unsampled: Decision | None = _WATCH if watch else None
        # Nothing but the sample rate to consult: decide() answers in two lines.
        self._plain = (
            settings.enabled
            and hook is None
            and self._include is None
            and self._exclude is None
            and not (settings.memory and settings.memory_sample_rate > 0)
        )
        self._sample_rate = settings.sample_rate

    def wants_path(self, path: str) -> bool:
        if self._include is not None and not self._include.match(path):
            return False
        return self._exclude is None or not self._exclude.match(path)

    def decide(self, path: str, token: str | None, method: str = "GET") -> Decision | None:
        """The decision for a request; ``None`` means leave it completely alone.

        A user ``hook(method, path)`` may answer True (always capture), False
        (never) or None (let the policy decide). If it raises, the caller
        counts the failure and serves the request unprofiled.
        """
        if self._plain and token is None:  # one roll of the dice and done
            if self._rng() >= self._sample_rate:
                return self._unsampled  # the common case: most requests are not sampled
            return self._budgeted("sampled", memory=False)
        settings = self.settings
        if not settings.enabled or not self.wants_path(path):
            return None
        reason: KeepReason | None = None
        memory = False
        verdict = self.hook(method, path) if self.hook is not None else None
        if verdict is False:
            return None
        if verdict is True:
            reason, memory = "always", settings.memory and self._memory_sampled()
        elif token is not None and self._valid_trigger(token):
            reason, memory = "triggered", settings.memory
        elif self._memory_sampled():
            reason, memory = "sampled", True
        elif settings.sample_rate and self._rng() < settings.sample_rate:
            reason = "sampled"
        if reason is None:
            return self._unsampled
        return self._budgeted(reason, memory=memory)

    def _budgeted(self, reason: KeepReason, *, memory: bool) -> Decision | None:
        if not self.budget.take():
            self.stats.incr("skipped.over_budget")
            return self._unsampled
        return Decision(reason=reason, watch_slow=False, memory=memory)

    def _memory_sampled(self) -> bool:
        rate = self.settings.memory_sample_rate
        return self.settings.memory and rate > 0 and self._rng() < rate

    def keep_slow(self, wall_s: float) -> bool:
        """At the end of a watched request: keep it for being slow?"""
        if wall_s * 1000.0 < self.settings.slow_ms:
            return False
        if not self.budget.take():
            self.stats.incr("skipped.over_budget")
            return False
        return True

    def _valid_trigger(self, token: str) -> bool:
        secret = self.settings.trigger_secret
        if not secret:
            self.stats.incr("trigger.ignored_no_secret")
            return False
        verdict = check_token(secret, token)
        if verdict is not TokenCheck.VALID:
            self.stats.incr(f"trigger.{verdict.value}")
            return False
        return True


def path_matches(pattern: str, path: str) -> bool:
    """Whether one include/exclude pattern matches a path (shell-style wildcards)."""
    return fnmatch.fnmatchcase(path, pattern)
