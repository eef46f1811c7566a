"""The workload of ``benchmarks/check_accuracy.py``: CPU cost and allocations scaled apart.

``run()`` does two deterministic parts:

* CPU: ``BASE_STEPS`` additions, subtractions and comparisons of small
  integers (0..200, which CPython caches), in one loop over a cycled tuple:
  no allocation and no Python function call per step, so
  ``CHECK_CPU_SCALE=1.10`` adds steps worth 10 % of the whole run's CPU time
  and moves no count (calls, allocations, GC): only the timings can see it;
* allocations: ``BASE_OBJECTS`` instances of a ``__slots__`` class with no
  ``__init__`` (no Python call, no free list: one allocation each), kept
  alive until the end; ``CHECK_ALLOC_SCALE=1.01`` makes 1 % more objects,
  i.e. 1 % more allocations of the whole run (the rest, a fixed hundred or
  so, is allowed for), for about 0.1 % more CPU time.

Everything else is fixed, so two runs with the same settings do the same
work. (Tuple-unpacking ``for a, b in pairs`` and ``zip()`` are avoided: under
memray's allocator tracing each step of those counts as one allocation.)
"""

from __future__ import annotations

import itertools
import math
import os

#: Loop steps at scale 1 (about 20 ms of CPU on a 2020s x86 core).
BASE_STEPS = 1_000_000
#: CPU time of a whole run over that of its loop steps (measured: 22.4 ms / 20.5 ms,
#: the rest is the allocation part): the extra steps are scaled by it so that
#: CHECK_CPU_SCALE=1.10 makes the whole run cost 10 % more, not just the loop.
WHOLE_RUN_FACTOR = 1.09
#: Objects allocated at scale 1 (a tenth of the run time).
BASE_OBJECTS = 20_000
#: Allocations of one run besides the objects, as memray counts them under
#: `profiler-kit bench` (the list of objects growing, iterators, the script's
#: import statement): the object count is scaled so that the whole run's
#: allocations grow by at least the factor asked (+1.004 % for 1.01).
OTHER_ALLOCATIONS = 117

#: Small integers 0..100, cycled through by the CPU loop.
VALUES = tuple((i * 37 + 11) % 101 for i in range(1000))


class Node:
    __slots__ = ("value",)


def scale(name: str) -> float:
    text = os.environ.get(name, "")
    return float(text) if text else 1.0


# Read once, at import: looking a variable up in os.environ makes one Python
# call more when it is set than when it is not, which `calls` would see.
CPU_SCALE = scale("CHECK_CPU_SCALE")
ALLOC_SCALE = scale("CHECK_ALLOC_SCALE")


def cpu_part(steps: int) -> int:
    acc = 0
    for value in itertools.islice(itertools.cycle(VALUES), steps):
        # acc stays in 0..200: arithmetic on cached small ints allocates nothing
        # (3.11's bitwise operators would allocate a temporary int each).
        acc = acc - value if acc > value else acc + value
    return acc


def alloc_part(objects: int) -> int:
    kept = [Node() for _ in itertools.repeat(None, objects)]
    return len(kept)


def run(cpu_scale: float | None = None, alloc_scale: float | None = None) -> int:
    """One run at the scales of the environment (or the ones given)."""
    cpu_scale = CPU_SCALE if cpu_scale is None else cpu_scale
    alloc_scale = ALLOC_SCALE if alloc_scale is None else alloc_scale
    steps = round(BASE_STEPS * (1 + (cpu_scale - 1) * WHOLE_RUN_FACTOR))
    total = (BASE_OBJECTS + OTHER_ALLOCATIONS) * alloc_scale
    objects = math.ceil(total) - OTHER_ALLOCATIONS
    return cpu_part(steps) + alloc_part(objects)
