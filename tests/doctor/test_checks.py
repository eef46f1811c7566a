"""The checks of :mod:`profiler_kit.doctor` called directly, with controlled inputs."""

from __future__ import annotations

import dataclasses
import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest

from profiler_kit import doctor
from profiler_kit.config import Settings


@pytest.mark.parametrize(
    ("secret", "weak"),
    [
        ("abc", True),
        ("a" * 31, True),
        ("0123456789abcdef" * 2, False),
        ("not-hex-pw", True),  # 10 characters
        ("not-hex-but-long", False),  # 16 characters
    ],
)
def test_secret_weakness(secret: str, weak: bool) -> None:
    assert (doctor.secret_weakness(secret) is not None) is weak


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://collector:4318/v1/traces", ("collector", 4318)),
        ("collector:4317", ("collector", 4317)),
        ("https://tempo.example.com", ("tempo.example.com", 443)),
        ("http://[::1]:4317", ("::1", 4317)),
    ],
)
def test_parse_endpoint(url: str, address: tuple[str, int]) -> None:
    assert doctor.parse_endpoint(url) == address


@pytest.mark.parametrize("url", ["collector", "http://collector:99999", "http://:4318"])
def test_parse_endpoint_refuses(url: str) -> None:
    with pytest.raises(ValueError, match=r"port|host"):
        doctor.parse_endpoint(url)


def test_check_otlp_on_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        (ok,) = doctor.check_otlp((f"http://127.0.0.1:{port}", "test"), timeout=2.0)
    assert ok.status == "ok"
    (closed,) = doctor.check_otlp((f"http://127.0.0.1:{port}", "test"), timeout=2.0)
    assert closed.status == "fail" and f"127.0.0.1:{port}" in closed.message
    (bad,) = doctor.check_otlp(("http://:4318", "test"))
    assert bad.status == "fail" and "names no host" in bad.message
    (off,) = doctor.check_otlp(None)
    assert off.status == "info"


def test_versions_missing_and_too_old_packages() -> None:
    fake = {"pyinstrument": None, "click": "7.0", "flask": "2.0"}
    requirements = {
        "pyinstrument": ("<6,>=5.0", True),
        "click": (">=8.1", True),
        "flask": (">=2.2", False),
    }
    checks = {
        c.name: c for c in doctor.check_versions(lambda name: fake.get(name, "1.0"), requirements)
    }
    assert checks["pyinstrument"].status == "fail"
    assert checks["pyinstrument"].fix == "pip install 'pyinstrument<6,>=5.0'"
    assert checks["click"].status == "fail" and "needs click>=8.1" in checks["click"].message
    assert checks["flask"].status == "warn"  # a framework is optional
    assert checks["jinja2"].status == "ok"


def test_versions_without_frameworks() -> None:
    versions = {"flask": None, "fastapi": None, "starlette": None, "django": None}
    checks = doctor.check_versions(lambda name: versions.get(name, "1.0"), {})
    (frameworks,) = [c for c in checks if c.name == "frameworks"]
    assert frameworks.status == "info"


def test_default_policy_is_quiet() -> None:
    checks = doctor.check_policy(Settings())
    assert [c.name for c in checks if c.status in ("warn", "fail")] == []


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"queue_size": 0}, "queue_size"),
        ({"retention_max_captures": 0, "retention_max_bytes": 0}, "retention"),
        ({"memory": True, "memory_max_s": 0.0}, "memory_max_s"),
        ({"slow_ms": 20.0}, "slow_ms"),
        ({"max_captures_per_minute": 601}, "max_captures_per_minute"),
        ({"sample_rate": 0.11}, "sample_rate"),
    ],
)
def test_policy_warnings(changes: dict[str, Any], name: str) -> None:
    checks = {c.name: c for c in doctor.check_policy(Settings(**changes))}
    assert checks[name].status == "warn"
    assert checks[name].fix


@pytest.mark.parametrize(
    ("changes", "name", "quoted"),
    [
        ({"sample_rate": 0.5}, "sample_rate", "({sample_rate:g} is the default)"),
        ({"slow_ms": 20.0}, "slow_ms", "({slow_ms:g} is the default)"),
        (
            {"max_captures_per_minute": 0},
            "max_captures_per_minute",
            "({max_captures_per_minute} is the default)",
        ),
        (
            {"max_captures_per_minute": 601},
            "max_captures_per_minute",
            "({max_captures_per_minute} is the default)",
        ),
        (
            {"retention_max_captures": 0, "retention_max_bytes": 0},
            "retention",
            "(defaults: {retention_max_captures} captures, {retention_max_bytes} bytes)",
        ),
        ({"queue_size": 0}, "queue_size", "({queue_size} is the default)"),
        (
            {"memory_sample_rate": 0.5},
            "memory_sample_rate",
            "({memory_sample_rate:g} is the default)",
        ),
        (
            {"memory": True, "memory_max_s": 0.0},
            "memory_max_s",
            "({memory_max_s:g} s is the default)",
        ),
    ],
)
def test_fixes_quote_the_current_defaults(changes: dict[str, Any], name: str, quoted: str) -> None:
    """A default changed in Settings shows up in the advice, which never names a stale one."""
    defaults = {field.name: field.default for field in dataclasses.fields(Settings)}
    checks = {c.name: c for c in doctor.check_policy(Settings(**changes))}
    fix = checks[name].fix
    assert fix is not None and quoted.format(**defaults) in fix


def test_unwritable_directory_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user without write permission sees (simulated: tests run as root)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    (check,) = doctor.check_store(tmp_path / "s.sqlite3", source="test")
    assert check.status == "fail"
    assert f"cannot write in {tmp_path}: Permission denied" in check.message


def test_sources_follow_the_settings_precedence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.profiler-kit]\nsample_rate = 0.5\nslow_ms = 900\n[tool.profiler-kit.check]\nx = 1\n"
    )
    sources, unknown = doctor.setting_sources(
        {"store": tmp_path / "s", "service": None},
        environ={"PROFILER_KIT_SAMPLE_RATE": "0.2", "PROFILER_KIT_SLOW_MS": "", "HOME": "/"},
        start_dir=tmp_path,
    )
    assert sources == {
        "sample_rate": "PROFILER_KIT_SAMPLE_RATE",
        "slow_ms": str(tmp_path / "pyproject.toml"),
        "store": "--store",
    }
    assert unknown == []


def test_run_checks_in_a_clean_directory(tmp_path: Path) -> None:
    checks = doctor.run_checks(environ={}, start_dir=tmp_path, store=tmp_path / "s.sqlite3")
    assert [c.name for c in checks if c.status == "fail"] == []
    lines = doctor.format_text(checks)
    assert len(lines) == len(checks) + 1
    assert lines[-1].startswith("doctor: no problems found")
    assert list(tmp_path.iterdir()) == []


def test_valgrind_found_and_missing() -> None:
    """Present: ok with its path; missing: information with the install command, never a failure."""
    found = doctor.check_valgrind(
        lambda name: "/opt/tools/valgrind" if name == "valgrind" else None
    )
    assert found.status == "ok" and "/opt/tools/valgrind" in found.message
    missing = doctor.check_valgrind(lambda name: None)
    assert missing.status == "info"
    assert missing.fix is not None and "apt-get install valgrind" in missing.fix
