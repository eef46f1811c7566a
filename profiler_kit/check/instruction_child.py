"""The child process that :mod:`profiler_kit.check.instructions` runs under valgrind.

It rebuilds the bench's targets, sets each up and calls it once untimed
(imports, caches), collects garbage, then calls the one target it was asked to measure once
more, and exits. Run once without a target to measure, it counts everything
but that last call; the difference of the two counts is the call.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

from profiler_kit.check.workloads import Workload, WorkloadError, build_workloads


def main(argv: list[str]) -> int:
    recipe = json.loads(argv[0])
    script = Path(recipe["script"]) if recipe.get("script") else None
    measure = recipe.get("measure")
    workloads: list[Workload] = []
    try:
        workloads = build_workloads(
            script, list(recipe.get("script_args") or []), recipe.get("app"), recipe["requests"]
        )
        for workload in workloads:
            workload.setup()
        for workload in workloads:
            workload.run()
        # Both children collect here, so the measured call starts with the
        # collector's counters at zero: otherwise a collection of the whole
        # heap lands in the call in one run and not in the next (the heap's
        # size depends on the environment), which was 1 % of a 20 ms call.
        gc.collect()
        if measure is not None:
            workloads[measure].run()
    except WorkloadError as error:
        print(f"profiler-kit: {error}", file=sys.stderr)
        return 2
    finally:
        for workload in workloads:
            workload.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
