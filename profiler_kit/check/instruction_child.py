"""The child process that :mod:`profiler_kit.check.instructions` runs under callgrind.

It rebuilds the bench's targets, sets each up and calls each ``warmup``
times with valgrind's instrumentation off (imports, caches: a Flask request
counted 797,000 instructions on its second call and 632,000 from about the
tenth on), then counts ``calls`` calls of each target, one at a time: garbage
collected first (so no collection of the whole heap lands in one run's call
and not another's), callgrind's counters zeroed, counting switched on around
the call, and the count dumped to a file labelled with the target and call.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

from profiler_kit.check.valgrind_requests import CallgrindControl
from profiler_kit.check.workloads import Workload, WorkloadError, build_workloads

LABEL = "profiler-kit-target-{index}-call-{call}"


def main(argv: list[str]) -> int:
    recipe = json.loads(argv[0])
    script = Path(recipe["script"]) if recipe.get("script") else None
    workloads: list[Workload] = []
    try:
        control = CallgrindControl()
        workloads = build_workloads(
            script, list(recipe.get("script_args") or []), recipe.get("app"), recipe["requests"]
        )
        for workload in workloads:
            workload.setup()
        for _ in range(int(recipe["warmup"])):
            for workload in workloads:
                workload.run()
        control.start_instrumentation()
        for index, workload in enumerate(workloads):
            for call in range(int(recipe["calls"])):
                gc.collect()
                control.zero()
                control.toggle_collect()
                try:
                    workload.run()
                finally:
                    control.toggle_collect()
                control.dump(LABEL.format(index=index, call=call))
        control.stop_instrumentation()
    except (WorkloadError, OSError) as error:
        print(f"profiler-kit: {error}", file=sys.stderr)
        return 2
    finally:
        for workload in workloads:
            workload.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
