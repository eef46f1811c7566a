"""``profiler-kit doctor`` end to end: what it finds, what it says, how it exits."""

from __future__ import annotations

import importlib.metadata
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.store import open_store


def _check(document: dict[str, Any], name: str) -> dict[str, Any]:
    found = [check for check in document["checks"] if check["name"] == name]
    assert len(found) == 1, [check["name"] for check in document["checks"]]
    return found[0]


def _failed(document: dict[str, Any]) -> list[str]:
    return [check["name"] for check in document["checks"] if check["status"] == "fail"]


# -- a healthy setup -------------------------------------------------------------------


def test_healthy_setup_exits_0_and_lists_versions(doctor: Any, tmp_path: Path) -> None:
    """Fresh directory, default settings: exit 0, versions of Python and every dependency."""
    result = doctor()
    assert result.returncode == 0, doctor.explain(result)
    assert result.stderr == ""
    out = result.stdout
    assert f"Python {sys.version.split()[0]}" in out
    for package in ("pyinstrument", "click", "jinja2", "opentelemetry-sdk", "opentelemetry-api"):
        (line,) = doctor.lines(result, package)
        assert line.startswith("ok ")
        assert importlib.metadata.version(package) in line
    for exporter in ("http", "grpc"):
        assert f"opentelemetry-exporter-otlp-proto-{exporter}" in out
    # The dev environment has every framework; each is listed with its version.
    for framework in ("flask", "fastapi", "starlette", "django"):
        (line,) = doctor.lines(result, framework)
        assert importlib.metadata.version(framework) in line and "web framework" in line
    (memray,) = doctor.lines(result, "memray")
    assert memray.startswith("ok ") and importlib.metadata.version("memray") in memray
    (directory,) = doctor.lines(result, "store.directory")
    assert directory.startswith("ok ") and "can be created" in directory
    (trigger,) = doctor.lines(result, "trigger")
    assert trigger.startswith("info") and "trigger is off" in trigger
    assert "FAIL" not in out
    assert out.splitlines()[-1].startswith("doctor: no problems found (0 failed, 0 warnings")
    # Doctor changed nothing: no store, no directory, no leftover probe file.
    assert sorted(os.listdir(tmp_path)) == []


def test_existing_store_reports_its_captures(doctor: Any, tmp_path: Path) -> None:
    """A store with a capture opens and is counted; a private store raises no warning."""
    store = tmp_path / "private" / "captures.sqlite3"
    script = tmp_path / "quick.py"
    script.write_text("print(sum(range(1000)))\n")
    seeded = subprocess.run(
        [sys.executable, "-m", "profiler_kit", "run", "--store", str(store), "--no-report", "-q",
         script.name],
        cwd=tmp_path, env=doctor.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    store.parent.chmod(0o700)
    result = doctor(env={"PROFILER_KIT_STORE": str(store)})
    assert result.returncode == 0, result.stdout
    (line,) = doctor.lines(result, "store.file")
    assert line.startswith("ok ") and f"{store}: 1 capture," in line
    (permissions,) = doctor.lines(result, "store.permissions")
    assert permissions.startswith("ok ")
    (sources,) = doctor.lines(result, "settings.sources")
    assert "from PROFILER_KIT_STORE" in sources


def test_world_readable_store_warns(doctor: Any, tmp_path: Path) -> None:
    """A store other users can read is a warning naming the chmod that fixes it (exit 0)."""
    store = tmp_path / "shared" / "captures.sqlite3"
    open_store(store).close()
    store.chmod(0o644)
    store.parent.chmod(0o755)
    result = doctor("--store", store)
    assert result.returncode == 0, result.stdout
    (line,) = doctor.lines(result, "store.permissions")
    assert line.startswith("warn") and "readable by every user" in line
    assert f"chmod 700 {store.parent}" in line


# -- the store -----------------------------------------------------------------------------


def test_store_whose_parent_is_a_file_fails(doctor: Any, tmp_path: Path) -> None:
    """A store path under a regular file cannot be created, even by root: FAIL, exit 1."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file\n")
    store = blocker / "sub" / "captures.sqlite3"
    result = doctor("--store", store)
    assert result.returncode == 1, result.stdout
    (line,) = doctor.lines(result, "store.directory")
    assert line.startswith("FAIL")
    assert f"{blocker} is a file, not a directory" in line
    assert "fix: point --store or PROFILER_KIT_STORE" in line
    assert blocker.read_text() == "a file\n"
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root writes into a mode-500 directory; the regular-file test covers root",
)
def test_unwritable_store_directory_fails(doctor: Any, tmp_path: Path) -> None:
    """A store directory without write permission: FAIL naming the directory, exit 1."""
    directory = tmp_path / "locked"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        result = doctor("--store", directory / "captures.sqlite3")
    finally:
        directory.chmod(0o700)
    assert result.returncode == 1, result.stdout
    (line,) = doctor.lines(result, "store.directory")
    assert line.startswith("FAIL") and f"cannot write in {directory}" in line


def test_directory_as_store_fails(doctor: Any, tmp_path: Path) -> None:
    result = doctor("--store", tmp_path)
    assert result.returncode == 1, result.stdout
    (line,) = doctor.lines(result, "store.directory")
    assert line.startswith("FAIL") and "is a directory, not a capture store file" in line


def test_missing_directories_are_tried_and_removed(doctor: Any, tmp_path: Path) -> None:
    """A store in directories that do not exist yet: ok, and the directories are gone again."""
    store = tmp_path / "a" / "b" / "captures.sqlite3"
    result = doctor("--store", store)
    assert result.returncode == 0, result.stdout
    (line,) = doctor.lines(result, "store.directory")
    assert line.startswith("ok ") and "does not exist yet and can be created" in line
    assert not (tmp_path / "a").exists()


def test_corrupt_store_fails_with_the_store_message(doctor: Any, tmp_path: Path) -> None:
    """A file that is not SQLite: FAIL with the store's own message; the file is untouched."""
    store = tmp_path / "captures.sqlite3"
    garbage = b"this is not an SQLite database\n" * 200
    store.write_bytes(garbage)
    result = doctor("--store", store)
    assert result.returncode == 1, result.stdout
    (line,) = doctor.lines(result, "store.file")
    assert line.startswith("FAIL")
    assert f"{store} is corrupt or not a profiler-kit store" in line
    assert "move the file aside" in line
    assert store.read_bytes() == garbage


def test_newer_store_schema_fails_with_upgrade_hint(doctor: Any, tmp_path: Path) -> None:
    store = tmp_path / "captures.sqlite3"
    open_store(store).close()
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    code, document = doctor.json("--store", store)
    assert code == 1
    check = _check(document, "store.file")
    assert check["status"] == "fail"
    assert "uses store schema 99" in check["message"] and "pip install -U" in check["message"]
    assert _failed(document) == ["store.file"]


def test_empty_store_file_is_not_a_failure(doctor: Any, tmp_path: Path) -> None:
    """An empty file becomes a store on the first capture: info, not a failure."""
    store = tmp_path / "captures.sqlite3"
    store.touch()
    code, document = doctor.json("--store", store)
    assert code == 0
    assert _check(document, "store.file")["status"] == "info"


# -- settings ----------------------------------------------------------------------------


def test_invalid_setting_from_environment_fails(doctor: Any) -> None:
    result = doctor(env={"PROFILER_KIT_SAMPLE_RATE": "2"})
    assert result.returncode == 1, result.stdout
    (line,) = doctor.lines(result, "settings")
    assert line.startswith("FAIL") and "sample_rate must be between 0 and 1" in line
    assert "Traceback" not in result.stderr


def test_unparsable_setting_fails(doctor: Any) -> None:
    code, document = doctor.json(env={"PROFILER_KIT_SLOW_MS": "fast"})
    assert code == 1
    check = _check(document, "settings")
    assert check["status"] == "fail" and "slow_ms" in check["message"]


def test_short_secret_warns_but_does_not_fail(doctor: Any) -> None:
    """A short trigger secret is a warning (exit 0); the secret itself is never printed."""
    secret = "hunter2xyz"
    result = doctor(env={"PROFILER_KIT_TRIGGER_SECRET": secret})
    assert result.returncode == 0, result.stdout
    (line,) = doctor.lines(result, "trigger")
    assert line.startswith("warn") and "10 characters (under 16)" in line
    assert "secrets.token_hex(32)" in line
    assert secret not in result.stdout
    (sources,) = doctor.lines(result, "settings.sources")
    assert "trigger_secret=<hidden, 10 characters> from PROFILER_KIT_TRIGGER_SECRET" in sources
    code, document = doctor.json(env={"PROFILER_KIT_TRIGGER_SECRET": secret})
    assert code == 0 and secret not in str(document)


def test_long_secret_is_ok(doctor: Any) -> None:
    code, document = doctor.json(env={"PROFILER_KIT_TRIGGER_SECRET": "ab12" * 16})
    assert code == 0
    check = _check(document, "trigger")
    assert check["status"] == "ok" and "64-character secret" in check["message"]


def test_risky_production_values_warn(doctor: Any) -> None:
    env = {
        "PROFILER_KIT_SAMPLE_RATE": "0.5",
        "PROFILER_KIT_MEMORY_SAMPLE_RATE": "0.05",
        "PROFILER_KIT_MAX_CAPTURES_PER_MINUTE": "0",
        "PROFILER_KIT_CAPTURE_QUERY_STRING": "true",
    }
    code, document = doctor.json(env=env)
    assert code == 0, document
    for name in ("sample_rate", "memory_sample_rate", "max_captures_per_minute",
                 "capture_query_string"):  # fmt: skip
        check = _check(document, name)
        assert check["status"] == "warn", check
        assert check["fix"], check
    code, document = doctor.json(env={"PROFILER_KIT_MAX_CAPTURES_PER_MINUTE": "6000"})
    assert _check(document, "max_captures_per_minute")["status"] == "warn"


def test_setting_sources_and_unknown_names(doctor: Any, tmp_path: Path) -> None:
    """Where each set value came from; misspelt names are warned about, not silently dropped."""
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.profiler-kit]\nslow_ms = 800\nsample-rat = 0.5\ntrigger_secret = "{"c" * 40}"\n'
    )
    result = doctor(env={"PROFILER_KIT_SAMPLE_RATE": "0.02", "PROFILER_KIT_SAMPLERATE": "1"})
    assert result.returncode == 0, result.stdout
    (sources,) = doctor.lines(result, "settings.sources")
    assert "sample_rate=0.02 from PROFILER_KIT_SAMPLE_RATE" in sources
    assert f"slow_ms=800.0 from {tmp_path / 'pyproject.toml'}" in sources
    unknown = doctor.lines(result, "settings.unknown")
    assert any("'sample-rat' in [tool.profiler-kit]" in line for line in unknown)
    assert any("PROFILER_KIT_SAMPLERATE" in line for line in unknown)
    (trigger,) = doctor.lines(result, "trigger")
    assert trigger.startswith("warn") and "committed with the code" in trigger


# -- OTLP --------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_otlp_endpoint_on_closed_port_fails(doctor: Any) -> None:
    port = _closed_port()
    result = doctor("--otlp-endpoint", f"http://127.0.0.1:{port}")
    assert result.returncode == 1, result.stdout
    (line,) = doctor.lines(result, "otlp")
    assert line.startswith("FAIL") and f"cannot connect to 127.0.0.1:{port}" in line
    assert "fix: start the collector, or correct --otlp-endpoint" in line


def test_otlp_endpoint_from_environment(doctor: Any) -> None:
    port = _closed_port()
    code, document = doctor.json(env={"OTEL_EXPORTER_OTLP_ENDPOINT": f"127.0.0.1:{port}"})
    assert code == 1
    check = _check(document, "otlp")
    assert check["status"] == "fail"
    assert check["details"]["source"] == "OTEL_EXPORTER_OTLP_ENDPOINT"
    assert check["details"]["address"] == f"127.0.0.1:{port}"


def test_otlp_endpoint_listening_is_ok(doctor: Any) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        # --otlp-endpoint wins over the variables: here it names a closed port.
        result = doctor(
            "--otlp-endpoint", f"http://127.0.0.1:{_closed_port()}",
            env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}/v1/traces"},
        )  # fmt: skip
        assert result.returncode == 1, result.stdout
        result = doctor(
            env={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}/v1/traces"}
        )
    assert result.returncode == 0, result.stdout
    (line,) = doctor.lines(result, "otlp")
    assert line.startswith("ok ") and f"127.0.0.1:{port}" in line
    assert "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in line


def test_no_otlp_endpoint_is_not_checked(doctor: Any) -> None:
    code, document = doctor.json()
    assert code == 0
    assert _check(document, "otlp")["status"] == "info"


# -- output ------------------------------------------------------------------------------


def test_json_output(doctor: Any, tmp_path: Path) -> None:
    code, document = doctor.json("--store", tmp_path / "s.sqlite3")
    assert code == 0
    assert document["ok"] is True
    assert set(document["counts"]) == {"ok", "warn", "fail", "info"}
    assert sum(document["counts"].values()) == len(document["checks"])
    for check in document["checks"]:
        assert set(check) == {"name", "status", "message", "fix", "details"}
        assert check["status"] in ("ok", "warn", "fail", "info")
    assert _check(document, "pyinstrument")["details"]["version"] == importlib.metadata.version(
        "pyinstrument"
    )
    code, document = doctor.json(env={"PROFILER_KIT_SAMPLE_RATE": "2"})
    assert code == 1 and document["ok"] is False and _failed(document) == ["settings"]


def test_listed_in_help(doctor: Any) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "profiler_kit", "--help"],
        cwd=doctor.cwd, env=doctor.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "doctor" in result.stdout


# -- memray ------------------------------------------------------------------------------


def test_memray_unavailable_is_reported(doctor: Any) -> None:
    """Without memray: a warning saying why (exit 0); with memory = true it is a failure."""
    result = doctor(without_memray=True)
    assert result.returncode == 0, result.stdout
    (line,) = doctor.lines(result, "memray")
    assert line.startswith("warn")
    assert "memray cannot be imported" in line and "pip install memray" in line
    result = doctor(without_memray=True, env={"PROFILER_KIT_MEMORY": "true"})
    assert result.returncode == 1, result.stdout
    (line,) = doctor.lines(result, "memray")
    assert line.startswith("FAIL") and "memory = true" in line
