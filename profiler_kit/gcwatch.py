"""Garbage-collection time per request, through ``gc.callbacks``.

The collector runs in whichever thread allocated last, in that thread's
context, so a context variable tells the callback which request to charge.
A request that is not being tracked costs the callback one lookup.
"""

from __future__ import annotations

import gc
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

__all__ = ["GcTally", "current_tally", "install"]


@dataclass
class GcTally:
    collections: int = 0
    seconds: float = 0.0


current_tally: ContextVar[GcTally | None] = ContextVar("profiler_kit_gc_tally", default=None)
_started = threading.local()
_installed = False
_install_lock = threading.Lock()


def _callback(phase: str, info: dict[str, Any]) -> None:
    tally = current_tally.get()
    if tally is None:
        return
    if phase == "start":
        _started.at = time.perf_counter()
    elif phase == "stop":
        started = getattr(_started, "at", None)
        if started is not None:
            tally.seconds += time.perf_counter() - started
            tally.collections += 1
            _started.at = None


def install() -> None:
    """Register the callback once per process."""
    global _installed
    with _install_lock:
        if not _installed:
            gc.callbacks.append(_callback)
            _installed = True
