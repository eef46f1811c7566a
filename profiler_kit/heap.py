"""Hand freed heap memory back to the operating system after memory captures.

Summarising a memray file briefly needs tens of MiB (the reader's allocation
records), and the request threads that memray tracked leave their own peaks
behind. glibc keeps freed memory inside each thread's malloc arena, so under
memory capture on every request a server's RSS climbed by ~30 MiB (measured
in the soak: 56.6 -> 87.3 MiB in its first 75 s) and stayed there, although
the Python heap was flat. ``malloc_trim(0)`` returns the free pages of every
arena. It runs on the background writer, at most once per ``min_gap_s``, and
ctypes releases the GIL around it, so requests do not wait for it.

Elsewhere than glibc (musl, macOS) there is no ``malloc_trim`` and this does
nothing.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable

__all__ = ["HeapTrimmer", "heap_trimmer"]


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        function = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    return function


class HeapTrimmer:
    """Calls ``malloc_trim`` when asked, but not more often than ``min_gap_s``."""

    def __init__(
        self,
        min_gap_s: float = 2.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        trim: Callable[[int], int] | None = None,
    ) -> None:
        self.min_gap_s = min_gap_s
        self._clock = clock
        self._trim = trim if trim is not None else _find_malloc_trim()
        self._last = -float("inf")
        self._lock = threading.Lock()
        self.trims = 0

    @property
    def available(self) -> bool:
        return self._trim is not None

    def maybe_trim(self) -> bool:
        """Trim now unless that was done less than ``min_gap_s`` ago; True if it ran."""
        if self._trim is None:
            return False
        with self._lock:
            now = self._clock()
            if now - self._last < self.min_gap_s:
                return False
            self._last = now
        self._trim(0)
        self.trims += 1
        return True


heap_trimmer = HeapTrimmer()
"""The process-wide trimmer the request recorder uses after memory summaries."""
