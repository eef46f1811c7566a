"""What both fault apps answer alike, so the tests compare frameworks, not two copies.

``process_state`` is the body of ``/_pk/state``: the tests account for every
capture from it (served requests, counters, the writer's queue) while the server
runs. ``digest`` is the endpoints' CPU work.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any


def process_state(middleware: Any, served: int) -> dict[str, Any]:
    """This process's profiler-kit facts; zeros before the middleware exists."""
    writer = middleware.recorder.writer if middleware is not None else None
    return {
        "pid": os.getpid(),
        "served": served,
        "counters": middleware.stats.snapshot() if middleware is not None else {},
        "depth": writer.depth() if writer is not None else 0,
        "queue_size": writer.queue_size if writer is not None else 0,
        "time": time.time(),
        "monotonic": time.monotonic(),
    }


def digest(rounds: int, seed: str) -> str:
    value = seed.encode()
    for _ in range(rounds):
        value = hashlib.sha256(value).digest()
    return value.hex()
