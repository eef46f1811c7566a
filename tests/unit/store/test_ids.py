"""Capture ids: ULID layout, Crockford alphabet, time order and uniqueness."""

from __future__ import annotations

import random

from profiler_kit.store.ids import capture_id_time, new_capture_id

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_id_is_26_crockford_characters() -> None:
    """An id is 26 characters, all from Crockford's base32 alphabet (no I, L, O, U)."""
    for _ in range(200):
        capture_id = new_capture_id()
        assert len(capture_id) == 26
        assert set(capture_id) <= CROCKFORD


def test_ids_sort_by_creation_time() -> None:
    """Ids minted at increasing times sort increasingly as plain strings."""
    # GIVEN strictly increasing timestamps (whole milliseconds) at least 1 ms apart
    rng = random.Random(1234)
    millis = 1_600_000_000_000
    times = []
    for _ in range(500):
        millis += rng.choice((1, 2, 500, 3_600_000, 86_400_000))
        times.append(millis / 1000.0)
    # WHEN an id is made for each
    ids = [new_capture_id(t) for t in times]
    # THEN string order equals creation order
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_capture_id_time_round_trips_to_the_millisecond() -> None:
    """capture_id_time returns the creation time to millisecond precision."""
    rng = random.Random(99)
    for _ in range(2000):
        millis = rng.randint(1_600_000_000_000, 1_900_000_000_000)  # 2020 to 2030
        now = millis / 1000.0
        assert round(capture_id_time(new_capture_id(now)) * 1000) == millis
    # Sub-millisecond parts are dropped, never rounded up into the next millisecond.
    decoded = capture_id_time(new_capture_id(1_700_000_000.1239))
    assert abs(decoded - 1_700_000_000.123) < 1e-6


def test_capture_id_time_accepts_lowercase() -> None:
    """A lower-cased id (as a user might type it) decodes to the same time."""
    capture_id = new_capture_id(1_650_000_000.5)
    assert capture_id_time(capture_id.lower()) == capture_id_time(capture_id)


def test_ids_are_unique_within_one_millisecond() -> None:
    """10 000 ids made at the same instant are all distinct (random tail)."""
    ids = {new_capture_id(1_700_000_000.0) for _ in range(10_000)}
    assert len(ids) == 10_000


def test_ids_are_unique_over_10k_default_ids() -> None:
    """10 000 ids made with the current clock are all distinct."""
    ids = [new_capture_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)


def test_whole_millisecond_times_after_2038_round_trip() -> None:
    """A whole-millisecond time whose float product falls just below the integer keeps its ms."""
    millis = 2_169_240_323_857
    assert round(capture_id_time(new_capture_id(millis / 1000.0)) * 1000) == millis
