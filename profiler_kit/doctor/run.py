"""Every check in the order shown, each kept from taking the others down with it.

A check that raises is reported as a failed check (a bug in doctor), so one
broken check still leaves the rest of the report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from profiler_kit.doctor.otlp import CONNECT_TIMEOUT_S, check_otlp, otlp_endpoint
from profiler_kit.doctor.policy import check_policy
from profiler_kit.doctor.results import Check
from profiler_kit.doctor.settings import load_checked_settings
from profiler_kit.doctor.store import check_store
from profiler_kit.doctor.versions import check_memray, check_valgrind, check_versions

__all__ = ["run_checks"]


def run_checks(
    *,
    store: Path | None = None,
    otlp: str | None = None,
    environ: Mapping[str, str] | None = None,
    start_dir: Path | None = None,
    timeout: float = CONNECT_TIMEOUT_S,
) -> list[Check]:
    """Every check, in the order they are shown."""
    environ = os.environ if environ is None else environ
    start_dir = Path.cwd() if start_dir is None else start_dir
    overrides = {"store": store} if store is not None else None
    checks = _guarded("versions", check_versions)
    try:
        settings, loaded = load_checked_settings(overrides, environ=environ, start_dir=start_dir)
    except Exception as error:
        settings, loaded = None, [_bug("settings", error)]
    sources: dict[str, str] = {}
    for check in loaded:
        if check.name == "settings.sources":
            sources = dict(check.details.get("sources", {}))
    checks += _guarded("memray", lambda: [check_memray(settings)])
    checks += _guarded("valgrind", lambda: [check_valgrind()])
    checks += loaded
    if settings is not None:
        chosen = settings
        store_source = sources.get("store", "default")
        checks += _guarded("store", lambda: check_store(chosen.store, source=store_source))
        checks += _guarded("policy", lambda: check_policy(chosen, sources))
    elif store is not None:
        checks += _guarded("store", lambda: check_store(store, source="--store"))
    else:
        checks.append(
            Check("store", "info", "not checked: the settings, which name the store, did not load")
        )
    checks += _guarded("otlp", lambda: check_otlp(otlp_endpoint(otlp, environ), timeout=timeout))
    return checks


def _guarded(name: str, run: Callable[[], Iterable[Check]]) -> list[Check]:
    try:
        return list(run())
    except Exception as error:
        return [_bug(name, error)]


def _bug(name: str, error: Exception) -> Check:
    return Check(
        name,
        "fail",
        f"doctor could not check this: {type(error).__name__}: {error}",
        fix="please report this as a bug in profiler-kit",
    )
