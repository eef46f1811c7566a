"""How the test folders start a profiled server: its profiler-kit environment, gunicorn flags.

Every ``PROFILER_KIT_*`` variable is passed explicitly, the ones a test does not
set as empty strings (read as "not given"), so the environment pytest runs in
cannot leak settings into a server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from profiler_kit.config import ENV_PREFIX, Settings

SETTING_NAMES = tuple(field.name for field in dataclasses.fields(Settings))


def profiler_kit_env(
    settings: Mapping[str, Any],
    store: Path,
    *,
    defaults: Mapping[str, Any] | None = None,
    extra_names: Iterable[str] = (),
) -> dict[str, str]:
    """The given settings (over ``defaults``) as variables, every other one blank.

    An unknown name fails the test: a typo would otherwise silently test the default.
    ``extra_names`` are settings read outside :class:`Settings` (the OpenTelemetry ones).
    """
    names = (*SETTING_NAMES, *extra_names)
    unknown = set(settings) - set(names)
    assert not unknown, f"not profiler-kit settings: {unknown}"
    env = {ENV_PREFIX + name.upper(): "" for name in names}
    env[ENV_PREFIX + "STORE"] = str(store)
    for name, value in {**(defaults or {}), **settings}.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        env[ENV_PREFIX + name.upper()] = str(value)
    return env


def gunicorn_isolation_args() -> tuple[str, ...]:
    """Newer gunicorns open a control socket at a fixed path under the home directory,
    shared by every gunicorn on the machine: ours do without."""
    from gunicorn.config import KNOWN_SETTINGS

    names = {setting.name for setting in KNOWN_SETTINGS}
    return ("--no-control-socket",) if "control_socket_disable" in names else ()
