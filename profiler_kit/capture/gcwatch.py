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
import os
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["GcTally", "current_holder", "install", "pause_collector", "resume_collector"]


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


# The collector is paused by more than one user at a time (the sampler hub while
# it reads other threads' frames, a memray tracker for as long as it runs), from
# different threads: each checking gc.isenabled() on its own would let one turn
# the collector back on inside the other's pause. So pauses nest, process-wide.
_pause_lock = threading.Lock()
_pauses = 0
_enable_after_pauses = False


def pause_collector() -> None:
    """Pause automatic collections until the matching :func:`resume_collector`.

    Pauses nest across threads; the last one to end turns the collector back
    on, and only if it was on when the first began (an app that turned it off
    keeps it off).
    """
    global _pauses, _enable_after_pauses
    with _pause_lock:
        if _pauses == 0:
            _enable_after_pauses = gc.isenabled()
            gc.disable()
        _pauses += 1


def resume_collector() -> None:
    """End one :func:`pause_collector`."""
    global _pauses
    with _pause_lock:
        _pauses -= 1
        if _pauses == 0 and _enable_after_pauses:
            gc.enable()


def _pauses_after_fork_in_child() -> None:
    # Whoever paused in the parent (a memray tracker, the hub) does not run in
    # the child and will never resume there.
    global _pause_lock, _pauses
    _pause_lock = threading.Lock()
    if _pauses and _enable_after_pauses:
        gc.enable()
    _pauses = 0


os.register_at_fork(after_in_child=_pauses_after_fork_in_child)
