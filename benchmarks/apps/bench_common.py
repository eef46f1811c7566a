"""Shared pieces of the benchmark apps: the CPU-bound work and the variant switch.

Every app reads two environment variables set by ``benchmarks/web_overhead.py``:

* ``BENCH_VARIANT``: ``bare``, ``noop`` (a do-nothing middleware), ``pk``
  (profiler-kit, configured through ``PROFILER_KIT_*``) or ``pyinstrument``
  (pyinstrument's own per-request recipe for the framework);
* ``BENCH_CPU_ROUNDS``: iterations of :func:`burn`, calibrated by the driver
  to take about 5 ms on the server's core.
"""

from __future__ import annotations

import hashlib
import os

VARIANTS = ("bare", "noop", "pk", "pyinstrument")
VARIANT = os.environ.get("BENCH_VARIANT", "bare")
if VARIANT not in VARIANTS:
    raise SystemExit(f"BENCH_VARIANT must be one of {VARIANTS}, not {VARIANT!r}")
CPU_ROUNDS = int(os.environ.get("BENCH_CPU_ROUNDS", "4000"))
INTERVAL = 0.001  # pyinstrument's default and profiler-kit's default interval


def _step(digest: bytes, index: int) -> bytes:
    return hashlib.sha256(digest + index.to_bytes(4, "little")).digest()


def burn(rounds: int = CPU_ROUNDS) -> str:
    """Pure-Python CPU work: a SHA-256 chain with some arithmetic, one Python call a round."""
    digest = b"profiler-kit"
    total = 0
    for index in range(rounds):
        digest = _step(digest, index)
        total = (total * 31 + digest[0]) % 1_000_003
    return f"{digest.hex()[:16]}-{total}"
