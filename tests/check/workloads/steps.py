"""A pure-Python CPU workload whose cost is scaled by ``STEPS_SCALE`` (default 1).

The loop runs on cached small ints and makes no call per step, so the scale
moves the instruction count (and the timings) and no other count.
"""

import os

STEPS = round(200_000 * float(os.environ.get("STEPS_SCALE") or 1))


def work(steps):
    acc = 0
    for _ in range(steps):
        acc = acc - 3 if acc > 100 else acc + 7
    return acc


work(STEPS)
