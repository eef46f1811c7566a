"""Fuzzing of everything that reads outside data: hypothesis profiles and shared fixtures.

Two profiles, chosen with ``PROFILER_KIT_FUZZ`` (default ``ci``):

* ``ci``: a modest, derandomized number of examples per target, so the whole
  folder stays well under 90 s and a CI run is reproducible;
* ``deep``: many more examples with random seeds, for a fuzzing campaign
  (``PROFILER_KIT_FUZZ=deep pytest tests/fuzz --hypothesis-show-statistics``).

The profiles are applied per test (``fuzzkit.fuzz_settings``), never loaded
globally, so other test folders keep their own hypothesis settings.
Helpers live in ``fuzzkit.py`` beside this file (test modules cannot import
a conftest under ``--import-mode=importlib``, so this folder goes on sys.path).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# When a test fails, hypothesis writes a patch with libcst, whose import warns
# (mypy_extensions.TypedDict) and, under filterwarnings=error, turns the report of
# the failure into an INTERNALERROR. Importing it here once, quietly, avoids that.
with warnings.catch_warnings(), contextlib.suppress(Exception):
    warnings.simplefilter("ignore", DeprecationWarning)
    import hypothesis.extra._patching  # noqa: F401

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,  # hangs are caught by fuzzkit.hard_timeout, not by timing noise
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile(
    "deep",
    max_examples=1000,
    deadline=None,
    derandomize=False,
    print_blob=True,
    suppress_health_check=_SUPPRESS,
)

PROFILE = os.environ.get("PROFILER_KIT_FUZZ", "ci")
if PROFILE not in ("ci", "deep"):
    raise pytest.UsageError(f"PROFILER_KIT_FUZZ must be ci or deep, not {PROFILE!r}")


def pytest_report_header(config: pytest.Config) -> str:
    return f"profiler-kit fuzz profile: {PROFILE} (set PROFILER_KIT_FUZZ=deep for a campaign)"


SEED_SCRIPT = textwrap.dedent(
    """
    def parse_rows(n):
        return [str(i).encode() for i in range(n)]

    def checksum(rows):
        total = 0
        for row in rows:
            total = (total * 31 + len(row)) % 1000003
        return total

    for _ in range(40):
        checksum(parse_rows(3000))
    """
)


class SeedStore(bytes):
    """The seed store's bytes, shown in short.

    Hypothesis prints every argument of a failing test case, fixtures included,
    and warns about a repr over 30 kB. The seed store is about 100 kB, so that
    warning (an error under ``filterwarnings = error``) was raised in the final
    replay of a failing example, before the test body drew from ``st.data()``:
    hypothesis then saw fewer draws than in the first run and reported a
    ``FlakyStrategyDefinition`` instead of the failure it had found.
    """

    def __repr__(self) -> str:
        return f"<seed store: {len(self)} bytes>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory: pytest.TempPathFactory) -> SeedStore:
    """The bytes of a real store: one ``profiler-kit run`` capture plus API-made ones.

    Request and script captures, CPU and memory payloads, several routes: every
    reader path (ls, single and aggregate reports, exports) has something to read.
    """
    import fuzzkit

    directory = tmp_path_factory.mktemp("seed-store")
    store = directory / "seed.sqlite3"
    script = directory / "seed_target.py"
    script.write_text(SEED_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILER_KIT_")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "profiler_kit",
            "run",
            "-q",
            "--no-report",
            "--store",
            str(store),
            str(script),
        ],
        cwd=directory,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    fuzzkit.add_api_captures(store)
    # Closing the last connection checkpoints the WAL: the main file is the whole store.
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{store}{suffix}").exists() or Path(f"{store}{suffix}").stat().st_size == 0
    return SeedStore(store.read_bytes())


@pytest.fixture(scope="session")
def seed_ids(seed_store: bytes, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Capture ids of the seed store, oldest first."""
    import fuzzkit

    path = tmp_path_factory.mktemp("seed-ids") / "s.sqlite3"
    path.write_bytes(seed_store)
    return fuzzkit.capture_ids(path)
