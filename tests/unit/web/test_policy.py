"""Which requests are profiled, and how: each way through ``Policy.decide`` and ``keep_slow``.

The random source and the budget's clock are injected, so every decision
here is deterministic: a roll below the rate samples, a roll at or above it
does not.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import pytest

from profiler_kit.config import Settings
from profiler_kit.web.counters import Stats
from profiler_kit.web.policy import Decision, Policy, path_matches
from profiler_kit.web.tokens import make_token

SECRET = "s3cret"
SAMPLED = Decision(reason="sampled", watch_slow=False, memory=False)
WATCH = Decision(reason=None, watch_slow=True, memory=False)


class Rolls:
    """A random source that answers from a list, repeating its last value once used up."""

    def __init__(self, values: Iterable[float]) -> None:
        self._values = list(values)
        self._used = 0

    def __call__(self) -> float:
        value = self._values[min(self._used, len(self._values) - 1)]
        self._used += 1
        return value


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def _policy(
    rolls: Iterable[float] = (0.5,),
    clock: Clock | None = None,
    hook: Any = None,
    **changes: Any,
) -> tuple[Policy, Stats]:
    settings = Settings(sample_rate=0.0, slow_ms=500.0, service="svc", host="h").replace(**changes)
    stats = Stats()
    policy = Policy(settings, stats, rng=Rolls(rolls), clock=clock or Clock(), hook=hook)
    return policy, stats


def _fresh_token(secret: str = SECRET) -> str:
    return make_token(secret, 600)


# -- sampling rate -----------------------------------------------------------------


def test_a_roll_below_the_rate_samples_the_request_from_its_first_line() -> None:
    policy, _ = _policy(rolls=[0.2499], sample_rate=0.25)
    assert policy.decide("/x", None) == SAMPLED


def test_a_roll_at_the_rate_only_watches_the_request() -> None:
    policy, _ = _policy(rolls=[0.25], sample_rate=0.25)
    assert policy.decide("/x", None) == WATCH


def test_rate_one_samples_every_request_and_rate_zero_none() -> None:
    always, _ = _policy(rolls=[0.999_999], sample_rate=1.0)
    never, _ = _policy(rolls=[0.0], sample_rate=0.0)
    assert [always.decide("/x", None) for _ in range(5)] == [SAMPLED] * 5
    assert [never.decide("/x", None) for _ in range(5)] == [WATCH] * 5


def test_an_unsampled_request_is_left_alone_when_slow_capture_is_off() -> None:
    policy, _ = _policy(slow_ms=0.0)
    assert policy.decide("/x", None) is None


def test_an_unsampled_request_is_left_alone_when_the_budget_is_zero() -> None:
    policy, _ = _policy(max_captures_per_minute=0)
    assert policy.decide("/x", None) is None


def test_the_sampling_rate_holds_with_path_filters_too() -> None:
    """With filters configured decide() takes its long way; the rate means the same there."""
    policy, _ = _policy(rolls=[0.1, 0.3], sample_rate=0.2, include_paths=("/*",))
    assert policy.decide("/x", None) == SAMPLED
    assert policy.decide("/x", None) == WATCH


def test_disabled_leaves_every_request_alone() -> None:
    policy, stats = _policy(rolls=[0.0], enabled=False, sample_rate=1.0, trigger_secret=SECRET)
    assert policy.decide("/x", None) is None
    assert policy.decide("/x", _fresh_token()) is None
    assert stats.snapshot() == {}


# -- path filters ------------------------------------------------------------------


def test_only_included_paths_are_considered() -> None:
    policy, _ = _policy(rolls=[0.0], sample_rate=1.0, include_paths=("/api/*", "/checkout"))
    assert policy.decide("/api/orders", None) == SAMPLED
    assert policy.decide("/checkout", None) == SAMPLED
    assert policy.decide("/checkout/confirm", None) is None
    assert policy.decide("/health", None) is None


def test_excluded_paths_are_left_alone_even_when_triggered() -> None:
    policy, stats = _policy(
        rolls=[0.0], sample_rate=1.0, exclude_paths=("/health*",), trigger_secret=SECRET
    )
    assert policy.decide("/health", None) is None
    assert policy.decide("/healthz", _fresh_token()) is None
    assert policy.decide("/orders", None) == SAMPLED
    assert stats.snapshot() == {}


def test_an_exclusion_inside_an_inclusion_wins() -> None:
    policy, _ = _policy(
        rolls=[0.0], sample_rate=1.0, include_paths=("/api/*",), exclude_paths=("/api/internal/*",)
    )
    assert policy.wants_path("/api/orders")
    assert not policy.wants_path("/api/internal/metrics")
    assert not policy.wants_path("/static/app.js")
    assert policy.decide("/api/internal/metrics", None) is None


def test_without_filters_every_path_is_wanted() -> None:
    policy, _ = _policy()
    assert policy.wants_path("/")
    assert policy.wants_path("/anything/at/all")


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [("/api/*", "/api/v1/orders", True), ("/api/*", "/apix", False), ("/a?c", "/abc", True),
     ("/Health", "/health", False)],
)  # fmt: skip
def test_path_patterns_are_shell_wildcards(pattern: str, path: str, matches: bool) -> None:
    assert path_matches(pattern, path) is matches


# -- per-minute budget --------------------------------------------------------------


def test_sampling_stops_at_the_budget_and_counts_what_it_skipped() -> None:
    clock = Clock()
    policy, stats = _policy(rolls=[0.0], clock=clock, sample_rate=1.0, max_captures_per_minute=2)
    decisions = [policy.decide("/x", None) for _ in range(4)]
    assert decisions == [SAMPLED, SAMPLED, WATCH, WATCH]
    assert stats.get("skipped.over_budget") == 2
    clock.now += 61
    assert policy.decide("/x", None) == SAMPLED


def test_over_budget_a_request_is_left_alone_when_slow_capture_is_off() -> None:
    policy, stats = _policy(rolls=[0.0], sample_rate=1.0, slow_ms=0.0, max_captures_per_minute=1)
    assert policy.decide("/x", None) == SAMPLED
    assert policy.decide("/x", None) is None
    assert stats.get("skipped.over_budget") == 1


def test_watching_a_request_costs_no_budget() -> None:
    policy, _ = _policy(rolls=[0.9, 0.9, 0.9, 0.0], sample_rate=0.5, max_captures_per_minute=1)
    assert [policy.decide("/x", None) for _ in range(3)] == [WATCH] * 3
    assert policy.decide("/x", None) == SAMPLED


# -- the on-demand trigger ---------------------------------------------------------


def test_a_valid_token_triggers_a_capture_whatever_the_rate() -> None:
    policy, stats = _policy(rolls=[0.99], trigger_secret=SECRET)
    assert policy.decide("/x", _fresh_token()) == Decision(
        reason="triggered", watch_slow=False, memory=False
    )
    assert stats.snapshot() == {}


def test_a_triggered_capture_tracks_memory_when_memory_is_on() -> None:
    policy, _ = _policy(rolls=[0.99], trigger_secret=SECRET, memory=True, memory_sample_rate=0.0)
    decision = policy.decide("/x", _fresh_token())
    assert decision is not None and decision.reason == "triggered" and decision.memory


def test_without_a_secret_a_token_is_ignored_and_counted() -> None:
    policy, stats = _policy(rolls=[0.99], trigger_secret="")
    assert policy.decide("/x", make_token("whatever", 600)) == WATCH
    assert stats.get("trigger.ignored_no_secret") == 1


def test_without_a_secret_a_token_does_not_stop_sampling() -> None:
    policy, _ = _policy(rolls=[0.0], sample_rate=1.0, trigger_secret="")
    assert policy.decide("/x", "pk1.1.nonce.sig") == SAMPLED


@pytest.mark.parametrize(
    ("token", "counter"),
    [
        (lambda: make_token("another secret", 600), "trigger.forged"),
        (lambda: make_token(SECRET, 60, now=time.time() - 3600), "trigger.expired"),
        (lambda: "not a token", "trigger.malformed"),
    ],
    ids=["forged", "expired", "malformed"],
)
def test_a_refused_token_triggers_nothing_and_is_counted(token: Any, counter: str) -> None:
    policy, stats = _policy(rolls=[0.99], trigger_secret=SECRET)
    assert policy.decide("/x", token()) == WATCH
    assert stats.snapshot() == {counter: 1}


def test_a_triggered_capture_counts_against_the_budget() -> None:
    policy, stats = _policy(rolls=[0.0], sample_rate=1.0, trigger_secret=SECRET,
                            max_captures_per_minute=1)  # fmt: skip
    assert policy.decide("/x", None) == SAMPLED
    assert policy.decide("/x", _fresh_token()) == WATCH
    assert stats.get("skipped.over_budget") == 1


def test_the_trigger_header_is_matched_in_lower_case() -> None:
    policy, _ = _policy(trigger_header="X-Debug-Profile")
    assert policy.trigger_header == "x-debug-profile"


# -- memory sampling ---------------------------------------------------------------


def test_a_memory_sample_profiles_cpu_and_memory() -> None:
    policy, _ = _policy(rolls=[0.0], memory=True, memory_sample_rate=0.5)
    assert policy.decide("/x", None) == Decision(reason="sampled", watch_slow=False, memory=True)


def test_a_missed_memory_roll_falls_back_to_the_cpu_rate() -> None:
    policy, _ = _policy(rolls=[0.7, 0.1], memory=True, memory_sample_rate=0.5, sample_rate=0.2)
    # A second roll: the first one (0.7) would not have sampled at rate 0.2.
    assert policy.decide("/x", None) == SAMPLED


def test_no_memory_sampling_while_memory_is_off() -> None:
    policy, _ = _policy(rolls=[0.0], memory=False, memory_sample_rate=1.0, sample_rate=0.0)
    assert policy.decide("/x", None) == WATCH


def test_a_memory_rate_of_zero_never_tracks_memory() -> None:
    policy, _ = _policy(rolls=[0.0], memory=True, memory_sample_rate=0.0, sample_rate=1.0)
    assert policy.decide("/x", None) == SAMPLED


# -- the user's hook -----------------------------------------------------------------


def test_a_hook_answering_true_always_captures() -> None:
    seen: list[tuple[str, str]] = []

    def hook(method: str, path: str) -> bool:
        seen.append((method, path))
        return True

    policy, _ = _policy(rolls=[0.99], hook=hook)
    assert policy.decide("/orders", None, "POST") == Decision(
        reason="always", watch_slow=False, memory=False
    )
    assert seen == [("POST", "/orders")]


def test_a_hook_answering_true_tracks_memory_only_when_memory_is_sampled() -> None:
    policy, _ = _policy(rolls=[0.0, 0.9], hook=lambda m, p: True, memory=True,
                        memory_sample_rate=0.5)  # fmt: skip
    first, second = policy.decide("/x", None), policy.decide("/x", None)
    assert first is not None and first.reason == "always" and first.memory
    assert second is not None and second.reason == "always" and not second.memory


def test_a_hook_answering_false_leaves_the_request_alone_even_when_triggered() -> None:
    policy, stats = _policy(rolls=[0.0], sample_rate=1.0, trigger_secret=SECRET,
                            hook=lambda m, p: False)  # fmt: skip
    assert policy.decide("/x", _fresh_token()) is None
    assert stats.snapshot() == {}


def test_a_hook_answering_none_leaves_the_decision_to_the_policy() -> None:
    policy, _ = _policy(rolls=[0.1, 0.9], sample_rate=0.5, hook=lambda m, p: None)
    assert policy.decide("/x", None) == SAMPLED
    assert policy.decide("/x", None) == WATCH


def test_a_hook_is_not_asked_about_an_excluded_path() -> None:
    asked: list[str] = []
    policy, _ = _policy(exclude_paths=("/health",), hook=lambda m, p: asked.append(p) or True)
    assert policy.decide("/health", None) is None
    assert asked == []


def test_an_always_capture_still_respects_the_budget() -> None:
    policy, stats = _policy(hook=lambda m, p: True, max_captures_per_minute=1)
    assert policy.decide("/x", None) is not None
    assert policy.decide("/x", None) == WATCH
    assert stats.get("skipped.over_budget") == 1


def test_a_failing_hook_raises_to_its_caller() -> None:
    """The recorder counts the failure and serves the request unprofiled."""

    def hook(method: str, path: str) -> bool:
        raise RuntimeError("hook broke")

    policy, _ = _policy(hook=hook)
    with pytest.raises(RuntimeError, match="hook broke"):
        policy.decide("/x", None)


# -- keeping a watched request for being slow ----------------------------------------


def test_a_watched_request_is_kept_only_from_the_slow_threshold_on() -> None:
    policy, stats = _policy(slow_ms=200.0)
    assert not policy.keep_slow(0.199)
    assert policy.keep_slow(0.200)
    assert policy.keep_slow(3.0)
    assert stats.snapshot() == {}


def test_a_fast_request_costs_no_budget() -> None:
    policy, _ = _policy(slow_ms=200.0, max_captures_per_minute=1)
    for _ in range(10):
        assert not policy.keep_slow(0.01)
    assert policy.keep_slow(0.5)


def test_slow_requests_over_budget_are_dropped_and_counted() -> None:
    clock = Clock()
    policy, stats = _policy(clock=clock, slow_ms=100.0, max_captures_per_minute=2)
    assert [policy.keep_slow(1.0) for _ in range(3)] == [True, True, False]
    assert stats.get("skipped.over_budget") == 1
    clock.now += 61
    assert policy.keep_slow(1.0)


def test_sampled_and_slow_captures_share_one_budget() -> None:
    policy, stats = _policy(rolls=[0.0], sample_rate=1.0, slow_ms=100.0,
                            max_captures_per_minute=1)  # fmt: skip
    assert policy.decide("/x", None) == SAMPLED
    assert not policy.keep_slow(1.0)
    assert stats.get("skipped.over_budget") == 1
