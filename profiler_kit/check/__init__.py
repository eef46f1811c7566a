"""Performance checks: benchmark workloads, keep baselines, and flag regressions in CI."""
