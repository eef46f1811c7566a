"""pytest-benchmark's side of benchmarks/check_accuracy.py: the same workload function.

Run by check_accuracy.py, e.g.

    CHECK_CPU_SCALE=1.10 pytest benchmarks/check_workload/test_workload_benchmark.py \\
        --benchmark-storage=/tmp/x --benchmark-compare=0001 --benchmark-compare-fail=mean:5%
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload_core import run


def test_workload(benchmark):
    benchmark(run)
