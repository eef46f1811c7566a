"""Whether the Python side is complete: profiler-kit, its dependencies, memray and valgrind.

Installed versions are compared with the requirements profiler-kit declares,
so a package that imports but is too old is found before it fails at run time.
"""

from __future__ import annotations

import importlib.metadata as metadata
import platform
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import profiler_kit
from profiler_kit import __version__
from profiler_kit.config import Settings
from profiler_kit.doctor.results import Check

__all__ = ["check_memray", "check_valgrind", "check_versions"]

_CORE_PACKAGES = ("pyinstrument", "click", "jinja2")
_OTEL_PACKAGES = (
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-exporter-otlp-proto-grpc",
)
_FRAMEWORKS = ("flask", "fastapi", "starlette", "django")
_PLUGIN_EXTRAS = ("flask", "fastapi", "django")
# Where profiler-kit is imported from, which need not be where it is installed.
_PACKAGE_DIRECTORY = Path(profiler_kit.PACKAGE_DIR)


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
                f"profiler-kit {__version__} is imported from {_PACKAGE_DIRECTORY}, "
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
                f"profiler-kit {__version__} ({_PACKAGE_DIRECTORY})",
                details={"version": __version__, "location": str(_PACKAGE_DIRECTORY)},
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
