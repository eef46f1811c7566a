"""Checks of an installation and its configuration, for ``profiler-kit doctor``.

Every check returns :class:`Check` values (a status, what was found, and for
warnings and failures what to do) and never raises: a check that cannot run
is itself reported as failed. The functions take what they look at as
arguments (environment, directory, timeouts), so they can be tested without
touching the real environment.

Doctor changes nothing: see :mod:`profiler_kit.doctor.store` for how the
store is tried without being written.
"""

from __future__ import annotations

from profiler_kit.doctor.otlp import CONNECT_TIMEOUT_S, check_otlp, otlp_endpoint, parse_endpoint
from profiler_kit.doctor.output import format_text, summary
from profiler_kit.doctor.policy import check_policy, secret_weakness
from profiler_kit.doctor.results import Check, Status
from profiler_kit.doctor.run import run_checks
from profiler_kit.doctor.settings import load_checked_settings, setting_sources
from profiler_kit.doctor.store import check_store
from profiler_kit.doctor.versions import check_memray, check_valgrind, check_versions

__all__ = [
    "CONNECT_TIMEOUT_S",
    "Check",
    "Status",
    "check_memray",
    "check_valgrind",
    "check_otlp",
    "check_policy",
    "check_store",
    "check_versions",
    "format_text",
    "load_checked_settings",
    "otlp_endpoint",
    "parse_endpoint",
    "run_checks",
    "secret_weakness",
    "setting_sources",
    "summary",
]
