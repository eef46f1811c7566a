"""One settings object, filled from three layers.

Keyword arguments (or CLI options) win over ``PROFILER_KIT_*`` environment
variables, which win over ``[tool.profiler-kit]`` in the nearest
pyproject.toml. Operators can thus change a deployed app's behaviour through
its environment without touching code, and a repository can commit shared
defaults.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from profiler_kit.errors import ProfilerKitError

__all__ = [
    "DEFAULT_STORE",
    "ENV_PREFIX",
    "Settings",
    "SettingsError",
    "load_settings",
    "nearest_pyproject",
    "pyproject_table",
    "validate",
]

ENV_PREFIX = "PROFILER_KIT_"
DEFAULT_STORE = Path(".profiler-kit") / "captures.sqlite3"
OTEL_SPAN_MODES = ("off", "live", "live-only")
REQUEST_ENGINES = ("sampler", "pyinstrument")


class SettingsError(ProfilerKitError):
    """A setting has a value of the wrong kind."""


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured, with production-safe defaults."""

    store: Path = DEFAULT_STORE
    service: str = dataclasses.field(default_factory=lambda: Path(sys.argv[0]).stem or "python")
    host: str = dataclasses.field(default_factory=socket.gethostname)
    interval: float = 0.001

    # -- web capture policy (see profiler_kit.web.policy) ------------------------
    enabled: bool = True
    sample_rate: float = 0.01
    slow_ms: float = 500.0
    trigger_secret: str = ""
    trigger_header: str = "X-Profiler-Kit-Token"
    include_paths: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    max_captures_per_minute: int = 60
    memory: bool = False
    memory_sample_rate: float = 0.001
    memory_max_s: float = 10.0  # longest one request may hold memray (one tracker per process)
    # How a request is profiled from its first line: "sampler", the hub thread
    # reading its stack on a timer (cost per sample, not per call), or
    # "pyinstrument", its profile hook (sees C functions; cost per call).
    request_engine: str = "sampler"
    # -- privacy -------------------------------------------------------------
    capture_query_string: bool = False
    # -- bounded resources ---------------------------------------------------
    queue_size: int = 256
    retention_max_captures: int = 10_000
    retention_max_bytes: int = 512 * 1024 * 1024
    # -- OpenTelemetry (see profiler_kit.otel) -------------------------------
    otel_spans: str = "off"  # "live": also emit derived spans; "live-only": emit, don't store
    otel_min_share: float = 0.05
    otel_min_frame_ms: float = 1.0

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    start_dir: Path | None = None,
) -> Settings:
    """Merge the three layers into a :class:`Settings`.

    ``None`` values in ``overrides`` mean "not given", so CLI options without a
    value fall through to the environment and the project file.
    """
    environ = os.environ if environ is None else environ
    fields = {field.name: field for field in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    for source, layer in (
        ("pyproject.toml [tool.profiler-kit]", _pyproject_layer(start_dir or Path.cwd())),
        ("environment", _environment_layer(environ, fields)),
        ("arguments", {k: v for k, v in (overrides or {}).items() if v is not None}),
    ):
        for name, raw in layer.items():
            if name not in fields:
                if source == "arguments":
                    raise SettingsError(f"unknown profiler-kit setting {name!r}")
                continue
            values[name] = _coerce(name, raw, fields[name], source)
    return validate(Settings(**values))


def _environment_layer(
    environ: Mapping[str, str], fields: Mapping[str, dataclasses.Field[Any]]
) -> dict[str, str]:
    return {
        name: environ[ENV_PREFIX + name.upper()]
        for name in fields
        if environ.get(ENV_PREFIX + name.upper(), "") != ""
    }


def nearest_pyproject(start_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest pyproject.toml at or above ``start_dir``, parsed; unreadable is an error."""
    for directory in (start_dir, *start_dir.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            import tomllib

            try:
                with candidate.open("rb") as file:
                    return candidate, tomllib.load(file)
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise SettingsError(f"cannot read {candidate}: {error}") from error
    return None


def pyproject_table(start_dir: Path, *keys: str) -> tuple[Path | None, dict[str, Any]]:
    """``[tool.profiler-kit.<keys>]`` of the nearest pyproject.toml, and that file.

    A missing file or table is empty; a value that is not a table is an error
    that names the table and the file.
    """
    found = nearest_pyproject(start_dir)
    if found is None:
        return None, {}
    candidate, table = found
    path = ("tool", "profiler-kit", *keys)
    for depth, key in enumerate(path, start=1):
        table = table.get(key, {})
        if not isinstance(table, dict):
            raise SettingsError(f"[{'.'.join(path[:depth])}] in {candidate} must be a table")
    return candidate, table


def _pyproject_layer(start_dir: Path) -> dict[str, Any]:
    candidate, table = pyproject_table(start_dir)
    layer = {key.replace("-", "_"): value for key, value in table.items() if key != "check"}
    if candidate is not None and isinstance(layer.get("store"), str):
        layer["store"] = candidate.parent / layer["store"]
    return layer


def _coerce(name: str, raw: Any, field: dataclasses.Field[Any], source: str) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if raw is None:
        raise SettingsError(f"setting {name!r} from the {source} has no value")
    try:
        if kind == "Path":
            return Path(raw)
        if kind == "float":
            return float(raw)
        if kind == "int":
            return int(raw)
        if kind == "bool":
            return _boolean(raw)
        if kind.startswith("tuple"):
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return tuple(str(item).strip() for item in items if str(item).strip())
        return str(raw)
    except (TypeError, ValueError) as error:
        raise SettingsError(f"setting {name!r} from the {source}: {error}") from error


def validate(settings: Settings) -> Settings:
    """Refuse values that would make profiling unsafe or meaningless."""
    problems = []
    if settings.otel_spans not in OTEL_SPAN_MODES:
        problems.append(f"otel_spans must be one of {', '.join(OTEL_SPAN_MODES)}")
    if settings.request_engine not in REQUEST_ENGINES:
        problems.append(f"request_engine must be one of {', '.join(REQUEST_ENGINES)}")
    if settings.otel_min_frame_ms < 0:
        problems.append("otel_min_frame_ms must not be negative")
    for name in ("sample_rate", "memory_sample_rate", "otel_min_share"):
        if not 0.0 <= getattr(settings, name) <= 1.0:
            problems.append(f"{name} must be between 0 and 1")
    for name in ("slow_ms", "interval", "memory_max_s"):
        if getattr(settings, name) < 0:
            problems.append(f"{name} must not be negative")
    for name in ("max_captures_per_minute", "retention_max_captures"):
        if getattr(settings, name) < 0:
            problems.append(f"{name} must not be negative")
    if settings.queue_size < 1:
        problems.append("queue_size must be at least 1 (the queue is always bounded)")
    if problems:
        raise SettingsError("invalid profiler-kit settings: " + "; ".join(problems))
    return settings


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")
