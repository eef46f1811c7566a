"""The settings as an app started here would load them, and where each one came from.

Knowing the source matters as much as the value: a setting that looks wrong
is fixed where it was set, which may be a variable in the app's environment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from profiler_kit.config import (
    ENV_PREFIX,
    Settings,
    SettingsError,
    load_settings,
    nearest_pyproject,
)
from profiler_kit.doctor.results import Check

__all__ = ["load_checked_settings", "setting_sources"]


def load_checked_settings(
    overrides: Mapping[str, Any] | None,
    *,
    environ: Mapping[str, str],
    start_dir: Path,
) -> tuple[Settings | None, list[Check]]:
    """The settings as an app started here would load them, and what doctor thinks of that."""
    try:
        settings = load_settings(overrides, environ=environ, start_dir=start_dir)
    except SettingsError as error:
        return None, [
            Check(
                "settings",
                "fail",
                str(error),
                fix="correct the value named above: it comes from a PROFILER_KIT_* environment "
                "variable, [tool.profiler-kit] in pyproject.toml, or an argument",
            )
        ]
    checks = [Check("settings", "ok", "settings load without error")]
    try:
        sources, unknown = setting_sources(overrides, environ=environ, start_dir=start_dir)
    except SettingsError as error:  # pragma: no cover - load_settings read the same file
        return settings, [*checks, Check("settings.sources", "warn", str(error))]
    if sources:
        shown = ", ".join(
            f"{name}={_shown_value(settings, name)} from {source}"
            for name, source in sorted(sources.items())
        )
        message = f"set explicitly: {shown}"
    else:
        message = "every setting has its default"
    checks.append(
        Check(
            "settings.sources",
            "info",
            message,
            details={
                "sources": sources,
                "values": {name: _shown_value(settings, name) for name in sorted(sources)},
            },
        )
    )
    checks += [
        Check(
            "settings.unknown",
            "warn",
            f"{where} is not a profiler-kit setting and is ignored",
            fix="correct its name (settings are listed in the README) or remove it",
            details={"name": where},
        )
        for where in unknown
    ]
    return settings, checks


def setting_sources(
    overrides: Mapping[str, Any] | None,
    *,
    environ: Mapping[str, str],
    start_dir: Path,
) -> tuple[dict[str, str], list[str]]:
    """Which layer each explicitly set setting came from, and names that set nothing.

    The same precedence as :func:`profiler_kit.config.load_settings`:
    arguments, then ``PROFILER_KIT_*`` variables, then pyproject.toml.
    """
    names = {f.name for f in dataclasses.fields(Settings)}
    sources: dict[str, str] = {}
    unknown: list[str] = []
    found = nearest_pyproject(start_dir)
    if found is not None:
        pyproject, document = found
        table = document.get("tool", {}).get("profiler-kit", {})
        if isinstance(table, dict):
            for key in table:
                name = key.replace("-", "_")
                if key == "check":
                    continue
                if name in names:
                    sources[name] = str(pyproject)
                else:
                    unknown.append(f"{key!r} in [tool.profiler-kit] of {pyproject}")
    for variable, value in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :].lower()
        if name in names and variable == ENV_PREFIX + name.upper():
            if value != "":
                sources[name] = variable
        else:
            unknown.append(f"environment variable {variable}")
    for name, value in (overrides or {}).items():
        if value is not None:
            sources[name] = "--" + name.replace("_", "-")
    return sources, unknown


def _shown_value(settings: Settings, name: str) -> str:
    value = getattr(settings, name)
    if name == "trigger_secret":
        return f"<hidden, {len(value)} characters>" if value else "<empty>"
    if isinstance(value, tuple):
        return ",".join(value) or "<none>"
    return str(value)
