"""Garbage-collection time per request, through ``gc.callbacks``.

The collector runs in whichever thread allocated last, in that thread's
context, so a context variable tells the callback which request to charge.
The variable belongs to the caller (the web recorder's "current request"),
which registers a getter returning an object with a ``gc`` :class:`GcTally`
(or ``None`` until its first collection);
a context with no tracked request costs the callback one lookup.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["GcTally", "current_holder", "install"]


@dataclass
class GcTally:
    collections: int = 0
    seconds: float = 0.0


class _HasTally(Protocol):
    gc: GcTally | None  # made on the first collection: most requests never see one


current_holder: ContextVar[_HasTally | None] = ContextVar("profiler_kit_gc", default=None)
"""The default holder variable, for callers without one of their own."""

_getter: Callable[[], _HasTally | None] = current_holder.get
_started = threading.local()
_installed = False
_install_lock = threading.Lock()


def _callback(phase: str, info: dict[str, Any]) -> None:
    holder = _getter()
    if holder is None:
        return
    tally = holder.gc
    if tally is None:
        tally = holder.gc = GcTally()
    if phase == "start":
        _started.at = time.perf_counter()
    elif phase == "stop":
        started = getattr(_started, "at", None)
        if started is not None:
            tally.seconds += time.perf_counter() - started
            tally.collections += 1
            _started.at = None


def install(getter: Callable[[], _HasTally | None] | None = None) -> None:
    """Register the callback once per process, charging whatever ``getter`` returns."""
    global _installed, _getter
    with _install_lock:
        if getter is not None:
            _getter = getter
        if not _installed:
            gc.callbacks.append(_callback)
            _installed = True
