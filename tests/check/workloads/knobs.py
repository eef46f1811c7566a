"""A deterministic bench workload whose costs are turned up one at a time.

``KNOBS`` (comma-separated) names the costs to add; the tests always set it
(to ``base`` for the unchanged workload) so that both runs read the same
environment variables the same way. Every knob changes its own metric and
leaves the counts it is not about alone where Python allows it:

* ``cpu``: ``spin`` spins in pure Python, which about triples the time; the
  same calls and allocations as without it (its loops run empty then).
* ``sleep``: 20 ms of wall time, no CPU.
* ``calls``: 50 more Python function calls.
* ``allocations``: 20,000 more small objects.
* ``allocated_bytes``: three more 512 KiB buffers, each freed before the next.
* ``peak_bytes``: eight 256 KiB buffers alive at once instead of one at a time.
* ``gc_collections``: 30,000 lists kept alive, which makes the collector run.
"""

import os
import time

KNOBS = set(os.environ.get("KNOBS", "base").split(","))
BUFFER = bytes(1 << 20)
SCANS = 30


def scan(times):
    found = 0
    for _ in range(times):
        found += BUFFER.count(b"\x01")
    return found


def spin(rounds, inner):
    """Time spent in this function itself; ``inner`` below 257 allocates no ints."""
    for _ in range(rounds):
        for _ in range(inner):
            pass


def helper():
    return None


def main():
    scan(SCANS)
    spin(10_000, 250 if "cpu" in KNOBS else 0)
    if "sleep" in KNOBS:
        time.sleep(0.02)
    for _ in range(50 if "calls" in KNOBS else 0):
        helper()
    kept = []
    for _ in range(20_000 if "allocations" in KNOBS else 0):
        kept.append(object())
    for _ in range(4 if "allocated_bytes" in KNOBS else 1):
        chunk = bytearray(1 << 19)
        del chunk
    held = []
    for _ in range(8 if "peak_bytes" in KNOBS else 1):
        held.append(bytearray(1 << 18))
        if "peak_bytes" not in KNOBS:
            held.clear()
    held.clear()
    for _ in range(30_000 if "gc_collections" in KNOBS else 0):
        kept.append([])
    return len(kept)


main()
