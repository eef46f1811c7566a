"""The heap trimmer: rate-limited, harmless where glibc is missing, and effective."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from profiler_kit.heap import HeapTrimmer, heap_trimmer


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_trims_at_most_once_per_gap() -> None:
    calls: list[int] = []
    clock = _Clock()
    trimmer = HeapTrimmer(2.0, clock=clock, trim=lambda pad: calls.append(pad) or 1)

    assert trimmer.maybe_trim() is True
    clock.now += 1.9
    assert trimmer.maybe_trim() is False
    clock.now += 0.2
    assert trimmer.maybe_trim() is True

    assert calls == [0, 0]
    assert trimmer.trims == 2


def test_without_malloc_trim_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    # As on musl or macOS, where the C library has no malloc_trim.
    monkeypatch.setattr("profiler_kit.heap._find_malloc_trim", lambda: None)
    trimmer = HeapTrimmer(0.0)
    assert trimmer.available is False
    assert trimmer.maybe_trim() is False
    assert trimmer.trims == 0


_FRAGMENTED_HEAP = textwrap.dedent(
    """
    import sys, threading
    from profiler_kit.heap import HeapTrimmer

    def rss_kib():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])

    kept = []

    def fragment():
        # 1 KiB blocks come from malloc (not Python's small-object arenas);
        # keeping one in 64 pins every page the thread's arena handed out.
        blocks = [bytearray(1024) for _ in range(80_000)]
        kept.extend(blocks[::64])

    worker = threading.Thread(target=fragment)
    worker.start()
    worker.join()
    before = rss_kib()
    trimmer = HeapTrimmer(0.0)
    assert trimmer.maybe_trim()
    after = rss_kib()
    print(before, after)
    """
)


@pytest.mark.skipif(not heap_trimmer.available, reason="no malloc_trim (not glibc)")
def test_trimming_returns_a_fragmented_arena_to_the_system() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _FRAGMENTED_HEAP],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    before_kib, after_kib = map(int, result.stdout.split())
    # ~80 MiB were allocated and ~1/64 of it kept: at least 40 MiB must go back.
    assert before_kib - after_kib > 40 * 1024, (before_kib, after_kib)
