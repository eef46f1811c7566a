"""The script `profiler-kit bench` runs for benchmarks/check_accuracy.py (see workload_core)."""

from workload_core import run

run()
