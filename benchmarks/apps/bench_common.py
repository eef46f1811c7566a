"""Shared pieces of the benchmark apps: the CPU-bound work and the variant switch.

Every app reads two environment variables set by ``benchmarks/web_overhead.py``:

* ``BENCH_VARIANT``: ``bare``, ``noop`` (a do-nothing middleware), ``pk``
  (profiler-kit, configured through ``PROFILER_KIT_*``), ``pyinstrument``
  (pyinstrument's own per-request recipe for the framework, the profile
  discarded: the profiling alone) or ``pyinstrument-kept`` (the recipe as
  documented: the profile rendered and written to a file per request, as
  profiler-kit keeps every capture in its store);
* ``BENCH_CPU_ROUNDS``: iterations of :func:`burn`, calibrated by the driver
  to take about 5 ms on the server's core.
"""

from __future__ import annotations

import hashlib
import itertools
import os

VARIANTS = ("bare", "noop", "pk", "pyinstrument", "pyinstrument-kept")
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


def keep_profile(profiler: object, renderer: object = None) -> None:
    """Write a stopped pyinstrument profile to a file, as the documented recipes do.

    Each request's profile goes to its own file in ``BENCH_PYINSTRUMENT_DIR``
    (the recipes write ``profile.html`` / ``profile.speedscope.json``; one file
    per request keeps every profile, as profiler-kit does).
    """
    from pyinstrument.renderers import SpeedscopeRenderer

    directory = os.environ.get("BENCH_PYINSTRUMENT_DIR") or "."
    os.makedirs(directory, exist_ok=True)
    text = profiler.output(renderer=renderer or SpeedscopeRenderer())  # type: ignore[attr-defined]
    name = os.path.join(directory, f"profile-{os.getpid()}-{next(_profile_numbers)}.json")
    with open(name, "w") as out:
        out.write(text)


_profile_numbers = itertools.count()
