"""Checks of an installation and its configuration, for ``profiler-kit doctor``.

Every check returns :class:`Check` values (a status, what was found, and for
warnings and failures what to do) and never raises: a check that cannot run
is itself reported as failed. The functions take what they look at as
arguments (environment, directory, timeouts), so they can be tested without
touching the real environment.

Doctor changes nothing: the store's directory is tested with a temporary
file (and temporary directories when it does not exist yet), all removed
again, and an existing store is only opened to count its captures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata as metadata
import os
import platform
import socket
import stat
import string
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from profiler_kit import __version__
from profiler_kit.config import (
    ENV_PREFIX,
    Settings,
    SettingsError,
    load_settings,
    nearest_pyproject,
)
from profiler_kit.errors import StoreCorruptError, StoreError, StoreVersionError
from profiler_kit.units import counted, format_bytes

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

Status = Literal["ok", "warn", "fail", "info"]
MARKS: dict[Status, str] = {"ok": "ok", "warn": "warn", "fail": "FAIL", "info": "info"}
CONNECT_TIMEOUT_S = 2.0
NAME_WIDTH = 24  # longer check names push their line's message to the right

# Thresholds past which a production setting is worth a second look.
MAX_SAMPLE_RATE = 0.1
MAX_MEMORY_SAMPLE_RATE = 0.01
MAX_CAPTURES_PER_MINUTE = 600
MIN_SLOW_MS = 100.0
MIN_SECRET_CHARS = 16
MIN_SECRET_HEX_DIGITS = 32

_CORE_PACKAGES = ("pyinstrument", "click", "jinja2")
_OTEL_PACKAGES = (
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-exporter-otlp-proto-grpc",
)
_FRAMEWORKS = ("flask", "fastapi", "starlette", "django")
_PLUGIN_EXTRAS = ("flask", "fastapi", "django")
_OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_RANDOM_HEX_COMMAND = 'python -c "import secrets; print(secrets.token_hex(32))"'


@dataclass(frozen=True)
class Check:
    """One finding: ``fix`` says what to do, for warnings and failures."""

    name: str
    status: Status
    message: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "fix": self.fix,
            "details": self.details,
        }


# -- versions -------------------------------------------------------------------


def _installed(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _requirements() -> dict[str, tuple[str, bool]]:
    """profiler-kit's declared requirements: name -> (specifier, needed without extras).

    Empty when profiler-kit is not installed as a distribution or ``packaging``
    (needed to read the requirement lines) is missing.
    """
    try:
        from packaging.requirements import InvalidRequirement, Requirement
        from packaging.utils import canonicalize_name
    except ImportError:  # pragma: no cover - packaging comes with pip and pytest
        return {}
    try:
        lines = metadata.requires("profiler-kit") or []
    except metadata.PackageNotFoundError:
        return {}
    found: dict[str, tuple[str, bool]] = {}
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        name = canonicalize_name(requirement.name)
        marker = requirement.marker
        if marker is None or marker.evaluate({"extra": ""}):
            found[name] = (str(requirement.specifier), True)
        elif any(marker.evaluate({"extra": extra}) for extra in _PLUGIN_EXTRAS):
            found.setdefault(name, (str(requirement.specifier), False))
    return found


def _satisfies(version: str, specifier: str) -> bool:
    if not specifier:
        return True
    try:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from packaging.version import InvalidVersion
    except ImportError:  # pragma: no cover - packaging comes with pip and pytest
        return True
    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return True


def check_versions(
    installed: Callable[[str], str | None] = _installed,
    requirements: Mapping[str, tuple[str, bool]] | None = None,
) -> list[Check]:
    """Python, profiler-kit, its dependencies and the web frameworks present."""
    wanted = _requirements() if requirements is None else requirements
    checks = [
        Check(
            "python",
            "ok",
            f"Python {platform.python_version()} ({sys.executable})",
            details={"version": platform.python_version(), "executable": sys.executable},
        )
    ]
    distribution = installed("profiler-kit")
    if distribution is None:
        checks.append(
            Check(
                "profiler-kit",
                "warn",
                f"profiler-kit {__version__} is imported from {Path(__file__).parent}, "
                "but is not installed as a package",
                fix="install it: pip install profiler-kit (in a checkout: pip install -e .)",
                details={"version": __version__},
            )
        )
    else:
        checks.append(
            Check(
                "profiler-kit",
                "ok",
                f"profiler-kit {__version__} ({Path(__file__).parent})",
                details={"version": __version__, "location": str(Path(__file__).parent)},
            )
        )
    for name in (*_CORE_PACKAGES, *_OTEL_PACKAGES):
        specifier, _ = wanted.get(name, ("", True))
        needed_for = "profiling" if name in _CORE_PACKAGES else "OpenTelemetry linking and export"
        checks.append(
            _package_check(name, installed(name), specifier, required=True, needed_for=needed_for)
        )
    frameworks = {name: installed(name) for name in _FRAMEWORKS}
    for name, version in frameworks.items():
        if version is not None:
            specifier, _ = wanted.get(name, ("", False))
            checks.append(
                _package_check(
                    name,
                    version,
                    specifier,
                    required=False,
                    needed_for="its plugin",
                    kind="web framework",
                )
            )
    if not any(frameworks.values()):
        checks.append(
            Check(
                "frameworks",
                "info",
                "no web framework found (flask, fastapi/starlette, django): "
                "the web plugins need one; profiler-kit run works without",
            )
        )
    return checks


def _package_check(
    name: str,
    version: str | None,
    specifier: str,
    *,
    required: bool,
    needed_for: str,
    kind: str = "",
) -> Check:
    wanted = f"{name}{specifier}"
    if version is None:
        return Check(
            name,
            "fail",
            f"{name} is not installed; profiler-kit needs it for {needed_for}",
            fix=f"pip install '{wanted}'",
            details={"version": None, "required": specifier or None},
        )
    details = {"version": version, "required": specifier or None}
    if not _satisfies(version, specifier):
        return Check(
            name,
            "fail" if required else "warn",
            f"{name} {version} is installed, but profiler-kit needs {wanted} for {needed_for}",
            fix=f"pip install '{wanted}'",
            details=details,
        )
    return Check(name, "ok", f"{version} ({kind})" if kind else version, details=details)


def check_memray(
    settings: Settings | None, reason: Callable[[], str | None] | None = None
) -> Check:
    """Whether memray can be used; a failure only when ``memory = true`` asks for it."""
    if reason is None:
        from profiler_kit.capture.memory import memory_unavailable_reason

        reason = memory_unavailable_reason
    problem = reason()
    wants_memory = settings is not None and settings.memory
    if problem is None:
        version = _installed("memray")
        return Check(
            "memray",
            "ok",
            f"memray {version or '(version unknown)'}: memory profiling available",
            details={"available": True, "version": version},
        )
    if wants_memory:
        return Check(
            "memray",
            "fail",
            f"memory = true, but memory profiling is unavailable: {problem}",
            fix="install memray (Linux or macOS) or set memory = false",
            details={"available": False, "reason": problem},
        )
    return Check(
        "memray",
        "warn",
        f"memory profiling is unavailable (run --memory and memory = true will not work): "
        f"{problem}",
        fix="pip install memray (Linux and macOS only); CPU profiling works without it",
        details={"available": False, "reason": problem},
    )


def check_valgrind(which: Callable[[str], str | None] | None = None) -> Check:
    """Whether ``bench --instructions`` can count instructions (never a failure)."""
    import shutil

    path = (which or shutil.which)("valgrind")
    if path is not None:
        return Check(
            "valgrind",
            "ok",
            f"valgrind at {path}: bench --instructions can count CPU instructions",
            details={"available": True, "path": path},
        )
    return Check(
        "valgrind",
        "info",
        "valgrind not found: bench --instructions (noise-free CPU cost for CI) is unavailable",
        fix="apt-get install valgrind (Debian/Ubuntu), if CI checks should gate on CPU cost",
        details={"available": False},
    )


# -- settings -------------------------------------------------------------------


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


# -- the store ------------------------------------------------------------------


def check_store(path: Path, *, source: str = "default") -> list[Check]:
    """The store's directory is writable; an existing store opens and is private."""
    path = path.absolute()
    directory_check = _check_store_directory(path, source)
    checks = [directory_check]
    if directory_check.status == "fail":
        return checks
    file_check = _check_store_file(path)
    checks.append(file_check)
    if file_check.status == "ok" and os.name == "posix":
        checks.append(_check_store_permissions(path))
    return checks


def _check_store_directory(path: Path, source: str) -> Check:
    directory = path.parent
    origin = "default path, relative to the current directory" if source == "default" else source
    where = f"store {path} ({origin})"
    details = {"path": str(path), "directory": str(directory), "source": source}
    move = "point --store or PROFILER_KIT_STORE at a path in a directory the app's user can write"
    try:
        if path.is_dir():
            return Check(
                "store.directory",
                "fail",
                f"{path} is a directory, not a capture store file",
                fix=f"give a file path, e.g. {path / 'captures.sqlite3'}",
                details=details,
            )
        missing: list[Path] = []
        existing = directory
        while not existing.exists():
            missing.append(existing)
            existing = existing.parent
        if not existing.is_dir():
            return Check(
                "store.directory",
                "fail",
                f"{where}: cannot create {directory}: {existing} is a file, not a directory",
                fix=move,
                details=details,
            )
    except OSError as error:
        return Check(
            "store.directory",
            "fail",
            f"{where}: cannot look at {directory}: {error.strerror or error}",
            fix=move,
            details=details,
        )
    created: list[Path] = []
    try:
        for missing_directory in reversed(missing):
            missing_directory.mkdir()
            created.append(missing_directory)
        handle, probe = tempfile.mkstemp(prefix=".profiler-kit-doctor-", dir=directory)
        os.close(handle)
        Path(probe).unlink()
    except OSError as error:
        action = f"create {directory}" if len(created) < len(missing) else f"write in {directory}"
        return Check(
            "store.directory",
            "fail",
            f"{where}: cannot {action}: {error.strerror or error}",
            fix=move,
            details=details,
        )
    finally:
        for created_directory in reversed(created):
            with contextlib.suppress(OSError):
                created_directory.rmdir()
    state = "exists and is writable" if not missing else "does not exist yet and can be created"
    return Check("store.directory", "ok", f"{where}: {directory} {state}", details=details)


def _check_store_file(path: Path) -> Check:
    from profiler_kit.store import open_store

    if not path.exists():
        return Check(
            "store.file",
            "info",
            f"no store at {path} yet: it is created with the first capture",
            details={"exists": False},
        )
    if path.is_file() and path.stat().st_size == 0:
        return Check(
            "store.file",
            "info",
            f"{path} is an empty file: the first capture makes it a store",
            details={"exists": True, "captures": 0, "bytes": 0},
        )
    try:
        with open_store(path, create=False) as store:
            count = store.count()
    except StoreError as error:
        if isinstance(error, StoreVersionError):
            fix = "upgrade profiler-kit as the message says, or point --store elsewhere"
        elif isinstance(error, StoreCorruptError):
            fix = "move the file aside (a new store starts in its place) or point --store elsewhere"
        else:
            fix = "check the file's permissions and free disk space, or point --store elsewhere"
        return Check("store.file", "fail", str(error), fix=fix, details={"exists": True})
    size = path.stat().st_size
    details: dict[str, Any] = {"exists": True, "captures": count, "bytes": size}
    if not os.access(path, os.W_OK):
        return Check(
            "store.file",
            "fail",
            f"{path} opens ({counted(count, 'capture')}) but this user cannot write to it",
            fix="run the app as the file's owner, or chmod u+w it",
            details=details,
        )
    summary = f"{path}: {counted(count, 'capture')}, {format_bytes(size)}"
    return Check("store.file", "ok", summary, details=details)


def _check_store_permissions(path: Path) -> Check:
    mode = stat.S_IMODE(path.stat().st_mode)
    directory_mode = stat.S_IMODE(path.parent.stat().st_mode)
    details = {"mode": f"{mode:04o}", "directory_mode": f"{directory_mode:04o}"}
    if mode & stat.S_IROTH and directory_mode & stat.S_IXOTH:
        return Check(
            "store.permissions",
            "warn",
            f"{path} is readable by every user of this machine (mode {mode:04o}, "
            f"directory {directory_mode:04o}); captures hold function names, file paths "
            "and URL paths",
            fix=f"chmod 700 {path.parent} (a directory only the app's user can enter), "
            f"or chmod 600 {path} and its -wal/-shm files",
            details=details,
        )
    return Check(
        "store.permissions",
        "ok",
        f"{path} is not readable by other users (mode {mode:04o}, directory {directory_mode:04o})",
        details=details,
    )


# -- capture policy ---------------------------------------------------------------


def secret_weakness(secret: str) -> str | None:
    """Why a trigger secret is too short to resist guessing, or ``None``."""
    if all(character in string.hexdigits for character in secret):
        if len(secret) < MIN_SECRET_HEX_DIGITS:
            return f"trigger_secret is {len(secret)} hex digits (under {MIN_SECRET_HEX_DIGITS})"
    elif len(secret) < MIN_SECRET_CHARS:
        return f"trigger_secret is {len(secret)} characters (under {MIN_SECRET_CHARS})"
    return None


def check_policy(settings: Settings, sources: Mapping[str, str] | None = None) -> list[Check]:
    """Settings that are unsafe or wasteful in production."""
    sources = sources or {}
    checks: list[Check] = []
    if not settings.enabled:
        checks.append(
            Check(
                "enabled",
                "info",
                "profiling is switched off (enabled = false): nothing is captured",
            )
        )
    checks.append(_trigger_check(settings, sources.get("trigger_secret")))
    if settings.sample_rate > MAX_SAMPLE_RATE:
        checks.append(
            Check(
                "sample_rate",
                "warn",
                f"sample_rate = {settings.sample_rate:g}: {settings.sample_rate:.0%} of requests "
                "are profiled from their first line, each paying the profiler's cost",
                fix=f"use {MAX_SAMPLE_RATE:g} or less in production (0.01 is the default); "
                "slow requests are kept anyway through slow_ms",
            )
        )
    else:
        checks.append(Check("sample_rate", "ok", f"sample_rate = {settings.sample_rate:g}"))
    if settings.slow_ms == 0:
        checks.append(Check("slow_ms", "info", "slow-request capture is off (slow_ms = 0)"))
    elif settings.slow_ms < MIN_SLOW_MS:
        checks.append(
            Check(
                "slow_ms",
                "warn",
                f"slow_ms = {settings.slow_ms:g}: stacks are sampled in every request after "
                f"{settings.slow_ms / 2:g} ms and ordinary requests use up the capture budget",
                fix=f"use {MIN_SLOW_MS:g} ms or more (500 is the default)",
            )
        )
    else:
        checks.append(Check("slow_ms", "ok", f"slow_ms = {settings.slow_ms:g}"))
    budget = settings.max_captures_per_minute
    if budget == 0:
        checks.append(
            Check(
                "max_captures_per_minute",
                "warn",
                "max_captures_per_minute = 0: no request is ever captured, "
                "but slow-request watching still runs",
                fix="set a budget (60 is the default), or enabled = false to switch profiling off",
            )
        )
    elif budget > MAX_CAPTURES_PER_MINUTE:
        checks.append(
            Check(
                "max_captures_per_minute",
                "warn",
                f"max_captures_per_minute = {budget}: up to {budget / 60:g} captures per second "
                "per process, each written to the store",
                fix=f"use {MAX_CAPTURES_PER_MINUTE} or less (60 is the default)",
            )
        )
    else:
        checks.append(
            Check(
                "max_captures_per_minute",
                "ok",
                f"max_captures_per_minute = {budget} per process",
            )
        )
    checks += _memory_checks(settings)
    if settings.capture_query_string:
        checks.append(
            Check(
                "capture_query_string",
                "warn",
                "capture_query_string = true: query strings, which often carry tokens and "
                "personal data, are stored with captures",
                fix="set capture_query_string = false unless you need it",
            )
        )
    if not settings.retention_max_captures and not settings.retention_max_bytes:
        checks.append(
            Check(
                "retention",
                "warn",
                "retention_max_captures and retention_max_bytes are both 0: the store grows "
                "without bound",
                fix="set either (defaults: 10000 captures, 536870912 bytes)",
            )
        )
    else:
        bounds = [
            f"{settings.retention_max_captures} captures"
            if settings.retention_max_captures
            else "",
            format_bytes(settings.retention_max_bytes) if settings.retention_max_bytes else "",
        ]
        checks.append(
            Check("retention", "ok", "apps keep at most " + " and ".join(b for b in bounds if b))
        )
    if settings.queue_size == 0:
        checks.append(
            Check(
                "queue_size",
                "warn",
                "queue_size = 0 makes the background writer's queue unbounded",
                fix="set a bound (256 is the default)",
            )
        )
    return checks


def _trigger_check(settings: Settings, source: str | None) -> Check:
    secret = settings.trigger_secret
    if not secret:
        return Check(
            "trigger",
            "info",
            f"on-demand trigger is off (no trigger_secret): {settings.trigger_header} headers "
            "are ignored",
        )
    details = {"secret_length": len(secret), "header": settings.trigger_header}
    weakness = secret_weakness(secret)
    if weakness is not None:
        return Check(
            "trigger",
            "warn",
            f"{weakness}: a short secret can be guessed offline from one token",
            fix=f"use at least 32 random hex digits: {_RANDOM_HEX_COMMAND}",
            details=details,
        )
    if source is not None and source.endswith("pyproject.toml"):
        return Check(
            "trigger",
            "warn",
            f"trigger_secret is set in {source}, where it is committed with the code",
            fix="set it through PROFILER_KIT_TRIGGER_SECRET from your secret store instead",
            details=details,
        )
    return Check(
        "trigger",
        "ok",
        f"on-demand trigger is on: {settings.trigger_header} tokens signed with a "
        f"{len(secret)}-character secret",
        details=details,
    )


def _memory_checks(settings: Settings) -> list[Check]:
    checks = []
    rate = settings.memory_sample_rate
    if rate > MAX_MEMORY_SAMPLE_RATE:
        applies = "" if settings.memory else " (takes effect once memory = true)"
        checks.append(
            Check(
                "memory_sample_rate",
                "warn",
                f"memory_sample_rate = {rate:g}{applies}: memray slows a tracked request "
                "several times and tracks one request per process at a time",
                fix=f"use {MAX_MEMORY_SAMPLE_RATE:g} or less (0.001 is the default)",
            )
        )
    else:
        state = "on" if settings.memory else "off (memory = false)"
        checks.append(
            Check(
                "memory_sample_rate", "ok", f"memory_sample_rate = {rate:g}; memory capture {state}"
            )
        )
    if settings.memory and settings.memory_max_s == 0:
        checks.append(
            Check(
                "memory_max_s",
                "warn",
                "memory_max_s = 0: a hanging request can hold the process's only memray "
                "tracker for as long as it runs",
                fix="set a limit (10 s is the default)",
            )
        )
    return checks


# -- OpenTelemetry ----------------------------------------------------------------


def otlp_endpoint(option: str | None, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The endpoint to check and where it came from, as ``export otlp`` would choose it."""
    if option:
        return option, "--otlp-endpoint"
    for variable in _OTLP_ENDPOINT_VARIABLES:
        if environ.get(variable):
            return environ[variable], variable
    return None


def parse_endpoint(url: str) -> tuple[str, int]:
    """Host and port of an OTLP endpoint URL (``http://h:4318``, ``h:4317``)."""
    text = url.strip()
    parts = urlsplit(text if "://" in text else "//" + text)
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError(f"{url!r} has an invalid port") from error
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme)
        if port is None:
            raise ValueError(f"{url!r} names no port")
    return parts.hostname, port


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_otlp(
    endpoint: tuple[str, str] | None, *, timeout: float = CONNECT_TIMEOUT_S
) -> list[Check]:
    """A TCP connection to the OTLP endpoint (the protocol itself is not spoken)."""
    if endpoint is None:
        return [
            Check(
                "otlp",
                "info",
                "no OTLP endpoint configured (--otlp-endpoint, OTEL_EXPORTER_OTLP_ENDPOINT, "
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): not checked",
            )
        ]
    url, source = endpoint
    fix = f"start the collector, or correct {source}"
    try:
        host, port = parse_endpoint(url)
    except ValueError as error:
        return [Check("otlp", "fail", f"OTLP endpoint from {source}: {error}", fix=fix)]
    address = _address(host, port)
    details = {"endpoint": url, "source": source, "address": address}
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror as error:
        problem = f"cannot resolve {host}: {error.strerror}"
    except TimeoutError:
        problem = f"no answer within {timeout:g} s"
    except OSError as error:
        problem = error.strerror or str(error)
    else:
        checks = [
            Check(
                "otlp",
                "ok",
                f"OTLP endpoint {url} (from {source}) accepts TCP connections on {address}",
                details=details,
            )
        ]
        if url.strip().lower().startswith("http://") and not _is_loopback(host):
            checks.append(
                Check(
                    "otlp.tls",
                    "info",
                    f"{url} is plain http: spans (function names, file and URL paths) "
                    "cross the network unencrypted",
                    details=details,
                )
            )
        return checks
    return [
        Check(
            "otlp",
            "fail",
            f"OTLP endpoint {url} (from {source}) is unreachable: cannot connect to "
            f"{address}: {problem}",
            fix=fix,
            details=details,
        )
    ]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- all together -----------------------------------------------------------------


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


def summary(checks: Iterable[Check]) -> dict[str, int]:
    counts = {"ok": 0, "warn": 0, "fail": 0, "info": 0}
    for check in checks:
        counts[check.status] += 1
    return counts


def format_text(checks: list[Check]) -> list[str]:
    """One line per check, then a line of totals."""
    width = min(max((len(check.name) for check in checks), default=0), NAME_WIDTH)
    lines = []
    for check in checks:
        line = f"{MARKS[check.status]:<4}  {check.name:<{width}}  {check.message}"
        if check.fix and check.status in ("warn", "fail"):
            line += f" -- fix: {check.fix}"
        lines.append(line)
    counts = summary(checks)
    verdict = "problems found" if counts["fail"] else "no problems found"
    lines.append(
        f"doctor: {verdict} ({counts['fail']} failed, {counts['warn']} warnings, "
        f"{counts['ok']} ok, {counts['info']} info)"
    )
    return lines
