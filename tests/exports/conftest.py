"""Fixtures for the export tests: the CLI, stores of captures, and the formats' own definitions.

Each export is read back with the definition its tools use, fetched from a
package registry on first use and cached in ``~/.cache/profiler-kit-tests``
(``PROFILER_KIT_TEST_CACHE`` overrides it); nothing of theirs is copied into
this repository:

* speedscope's JSON schema, ``dist/release/file-format-schema.json`` of the
  npm package ``speedscope`` (``npm pack``);
* pprof's ``profile.proto`` (google/pprof's, package ``perftools.profiles``)
  as shipped in ddtrace's wheel on PyPI (``pip download``; no npm or PyPI
  package ships the file on its own), compiled with grpcio-tools' protoc.

A failed download fails the tests that need it, with the command's output: a
format check that silently skipped would prove nothing.

With ``--import-mode=importlib`` test modules cannot import this file, so the
helpers are methods of the :class:`ExportKit` object the ``kit`` fixture gives.
"""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest

from profiler_kit.capture.cpu import decode_profile
from profiler_kit.store import open_store
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture
from profiler_kit.testing import cpu_blob

COMMAND_TIMEOUT_S = 60.0
DOWNLOAD_TIMEOUT_S = 300.0

SPEEDSCOPE_VERSION = "1.25.0"
SPEEDSCOPE_SCHEMA_MEMBER = "package/dist/release/file-format-schema.json"
# ddtrace's wheels carry google/pprof's profile.proto as pprof.proto. The wheel
# is only unpacked, never installed, so one fixed wheel serves every Python.
DDTRACE_WHEEL = ("ddtrace==1.20.0", "manylinux2014_x86_64", "3.11", "cp311")
PPROF_PROTO_MEMBER = "ddtrace/profiling/exporter/pprof.proto"

T0 = 1_700_000_000.0
COLLAPSED_LINE = re.compile(r"^(?P<stack>[^\n]+) (?P<count>\d+)$")
_sequence = itertools.count()

Records = list[tuple[list[str], float]]


def cache_dir() -> Path:
    configured = os.environ.get("PROFILER_KIT_TEST_CACHE")
    path = Path(configured) if configured else Path.home() / ".cache" / "profiler-kit-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fetch(command: Sequence[str], what: str, cwd: Path) -> None:
    try:
        result = subprocess.run(
            list(command), cwd=cwd, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.fail(f"could not fetch {what}: {' '.join(command)}: {error}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"could not fetch {what}: {' '.join(command)} exited {result.returncode}\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )


def _store_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(data)
    Path(handle.name).replace(path)


@pytest.fixture(scope="session")
def speedscope_schema() -> dict[str, Any]:
    """speedscope's published JSON schema of its file format, from its npm package."""
    cached = cache_dir() / f"speedscope-{SPEEDSCOPE_VERSION}" / "file-format-schema.json"
    if not cached.exists():
        with tempfile.TemporaryDirectory() as scratch:
            package = f"speedscope@{SPEEDSCOPE_VERSION}"
            _fetch(["npm", "pack", package, "--silent"], f"npm package {package}", Path(scratch))
            tarballs = list(Path(scratch).glob("speedscope-*.tgz"))
            assert len(tarballs) == 1, f"npm pack left {tarballs}"
            with tarfile.open(tarballs[0]) as tarball:
                member = tarball.extractfile(SPEEDSCOPE_SCHEMA_MEMBER)
                assert member is not None, f"{SPEEDSCOPE_SCHEMA_MEMBER} missing from {package}"
                _store_atomically(cached, member.read())
    schema = json.loads(cached.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    assert isinstance(schema, dict)
    return schema


@pytest.fixture(scope="session")
def profile_pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The ``perftools.profiles`` messages compiled from pprof's own profile.proto."""
    requirement, platform, python_version, abi = DDTRACE_WHEEL
    cached = cache_dir() / requirement.replace("==", "-") / "profile.proto"
    if not cached.exists():
        with tempfile.TemporaryDirectory() as scratch:
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
            command += ["--only-binary=:all:", "--platform", platform, "--implementation", "cp"]
            command += ["--python-version", python_version, "--abi", abi, "--dest", scratch]
            what = f"{requirement} from PyPI (for pprof's profile.proto)"
            _fetch([*command, requirement], what, Path(scratch))
            wheels = list(Path(scratch).glob("ddtrace-*.whl"))
            assert len(wheels) == 1, f"pip download left {wheels}"
            with zipfile.ZipFile(wheels[0]) as wheel:
                _store_atomically(cached, wheel.read(PPROF_PROTO_MEMBER))
    source = cached.read_text(encoding="utf-8")
    assert "package perftools.profiles;" in source, f"{cached} is not pprof's profile.proto"
    out = tmp_path_factory.mktemp("profile_pb2")
    (out / "profile.proto").write_text(source, encoding="utf-8")
    protoc = [sys.executable, "-m", "grpc_tools.protoc", f"-I{out}", f"--python_out={out}"]
    compiled = subprocess.run(
        [*protoc, str(out / "profile.proto")],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    assert compiled.returncode == 0, f"protoc failed:\n{compiled.stderr}"
    spec = importlib.util.spec_from_file_location("profile_pb2", out / "profile_pb2.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- captures -------------------------------------------------------------------------


def make_capture(
    records: Records,
    *,
    started: float | None = None,
    target: str = "job.py",
    wall: float | None = None,
) -> Capture:
    """A script capture whose CPU profile is exactly ``records`` (root-first stacks, seconds)."""
    started = T0 + next(_sequence) if started is None else started
    total = sum(seconds for _, seconds in records)
    return Capture(
        id=new_capture_id(started),
        kind="script",
        service="tests",
        host="test-host",
        pid=4242,
        started_at=started,
        wall_s=total if wall is None else wall,
        cpu_s=total,
        reason="script",
        target=target,
        exit_code=0,
        cpu_profile=cpu_blob(records, start_time=started),
    )


def make_store(path: Path, captures: list[Capture]) -> Path:
    with open_store(path) as store:
        store.add_many(captures)
    return path


def stored_totals(store: Path, capture_ids: Sequence[str] | None = None) -> tuple[float, int]:
    """Seconds and samples of the stored CPU profiles, summed straight from the store.

    Independent of the exporters: it decodes each stored profile and adds up
    its samples, with no frame table or stack merging in between.
    """
    seconds = 0.0
    samples = 0
    with open_store(store, create=False) as opened:
        for capture in opened.iter_captures():
            if capture_ids is not None and capture.id not in capture_ids:
                continue
            assert capture.cpu_profile is not None
            profile = decode_profile(capture.cpu_profile)
            seconds += sum(weight for _, weight in profile.samples)
            samples += len(profile.samples)
    return seconds, samples


# -- the CLI and the formats ------------------------------------------------------------


@dataclass
class ExportKit:
    """Runs the CLI in ``cwd`` against ``store``, and reads exports back."""

    cwd: Path
    store: Path
    env: dict[str, str]
    speedscope_schema: dict[str, Any] | None = None
    pb2: ModuleType | None = None

    def __call__(
        self, *args: str | Path, check_rc: int | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``profiler-kit ARGS``; with ``check_rc``, assert the exit status."""
        result = subprocess.run(
            [sys.executable, "-m", "profiler_kit", *map(str, args)],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=COMMAND_TIMEOUT_S,
        )
        if check_rc is not None:
            assert result.returncode == check_rc, self.explain(result, f"expected {check_rc}")
        return result

    make_capture = staticmethod(make_capture)

    def make_store(self, captures: list[Capture], path: Path | None = None) -> Path:
        """Put ``captures`` in ``path`` (default: the kit's store)."""
        return make_store(path or self.store, captures)

    def stored_totals(
        self, store: Path | None = None, capture_ids: Sequence[str] | None = None
    ) -> tuple[float, int]:
        return stored_totals(store or self.store, capture_ids)

    def export(self, fmt: str, *args: str | Path, name: str | None = None) -> Path:
        """``export FMT ARGS -o FILE`` that must succeed; returns FILE."""
        suffix = {"speedscope": ".json", "collapsed": ".txt", "pprof": ".pb.gz"}[fmt]
        output = self.cwd / (name or f"out-{next(_sequence)}{suffix}")
        result = self("export", fmt, *args, "-o", output, check_rc=0)
        assert re.fullmatch(r"wrote \d+ stacks? from \d+ captures? to .+\n", result.stderr), (
            self.explain(result, "summary line")
        )
        return output

    def run_script(self, name: str, source: str) -> str:
        """``profiler-kit run`` of a script into the store; the new capture's id."""
        script = self.cwd / name
        script.write_text(textwrap.dedent(source), encoding="utf-8")
        result = self("run", "--no-report", "-q", script.name, check_rc=0)
        match = re.search(r"^Capture (\S+) saved to ", result.stderr, re.M)
        if match:
            return match.group(1)
        listing = json.loads(self("ls", "--all", "--json", check_rc=0).stdout)
        return str(max(listing, key=lambda c: c["started_at"])["id"])

    # -- reading exports back -------------------------------------------------------

    def speedscope(self, path: Path) -> dict[str, Any]:
        """The file, validated against speedscope's schema and its internal references."""
        assert self.speedscope_schema is not None, "use the kit fixture with speedscope_schema"
        document = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft7Validator(self.speedscope_schema).validate(document)
        frames = document["shared"]["frames"]
        for profile in document["profiles"]:
            assert len(profile["samples"]) == len(profile["weights"])
            for sample in profile["samples"]:
                assert all(0 <= index < len(frames) for index in sample), sample
        assert isinstance(document, dict)
        return document

    @staticmethod
    def collapsed(path: Path) -> list[tuple[list[str], int]]:
        """(root-first frames, count) per line; asserts the line format holds."""
        data = path.read_bytes()
        assert data.endswith(b"\n") or not data
        lines = data.decode("utf-8").split("\n")[:-1]
        parsed = []
        for line in lines:
            match = COLLAPSED_LINE.match(line)
            assert match, f"not a collapsed-stack line: {line!r}"
            frames = match.group("stack").split(";")
            assert all(frames), f"empty frame in {line!r}"
            parsed.append((frames, int(match.group("count"))))
        return parsed

    def pprof(self, path: Path) -> Any:
        """The gunzipped profile parsed with profile.proto, its references checked."""
        assert self.pb2 is not None, "use the kit fixture with profile_pb2"
        data = path.read_bytes()
        assert data[:2] == b"\x1f\x8b", "pprof files are gzipped"
        profile = self.pb2.Profile()
        profile.ParseFromString(gzip.decompress(data))
        check_pprof_references(profile)
        return profile

    @staticmethod
    def explain(result: subprocess.CompletedProcess[str], what: str) -> str:
        return (
            f"{what}: {result.args!r} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )


def check_pprof_references(profile: Any) -> None:
    """string_table[0] is "", and every id and string index the profile uses exists."""
    strings = profile.string_table
    assert strings and strings[0] == "", "string_table[0] must be the empty string"

    def string(index: int) -> str:
        assert 0 <= index < len(strings), f"string index {index} out of range"
        return str(strings[index])

    for value_type in [*profile.sample_type, profile.period_type]:
        string(value_type.type)
        string(value_type.unit)
    mappings = {mapping.id for mapping in profile.mapping}
    functions = {function.id: function for function in profile.function}
    locations = {location.id: location for location in profile.location}
    assert len(mappings) == len(profile.mapping) and 0 not in mappings
    assert len(functions) == len(profile.function) and 0 not in functions
    assert len(locations) == len(profile.location) and 0 not in locations
    for mapping in profile.mapping:
        string(mapping.filename)
    for function in profile.function:
        for index in (function.name, function.system_name, function.filename):
            string(index)
    for location in profile.location:
        assert location.mapping_id == 0 or location.mapping_id in mappings
        assert location.line, f"location {location.id} has no line"
        for line in location.line:
            assert line.function_id in functions, f"no function {line.function_id}"
    for sample in profile.sample:
        assert len(sample.value) == len(profile.sample_type)
        assert sample.location_id, "a sample without locations"
        for location_id in sample.location_id:
            assert location_id in locations, f"no location {location_id}"
    for index in profile.comment:
        string(index)
    string(profile.default_sample_type)


def _clean_environment(store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILER_KIT_")}
    env.pop("PYTHONSAFEPATH", None)
    env["PROFILER_KIT_STORE"] = str(store)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


@pytest.fixture
def kit(tmp_path: Path) -> ExportKit:
    """The CLI run from ``tmp_path`` against ``tmp_path/captures.sqlite3`` (not created)."""
    store = tmp_path / "captures.sqlite3"
    return ExportKit(cwd=tmp_path, store=store, env=_clean_environment(store))


@pytest.fixture
def formats(
    kit: ExportKit, speedscope_schema: dict[str, Any], profile_pb2: ModuleType
) -> ExportKit:
    """The ``kit``, able to read every format back with its own definition."""
    kit.speedscope_schema = speedscope_schema
    kit.pb2 = profile_pb2
    return kit


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A store with two real ``profiler-kit run`` captures of two scripts, and their ids.

    Shared by the tests that only read it (exports go to each test's own ``tmp_path``).
    """
    directory = tmp_path_factory.mktemp("real")
    store = directory / "captures.sqlite3"
    runner = ExportKit(cwd=directory, store=store, env=_clean_environment(store))
    ids = [
        runner.run_script("squares.py", SQUARES_SCRIPT),
        runner.run_script("sleeper.py", SLEEPER_SCRIPT),
    ]
    return store, ids


SQUARES_SCRIPT = """\
def inner(n):
    return sum(i * i for i in range(n))


def outer():
    total = 0
    for _ in range(40):
        total += inner(20000)
    return total


print(outer())
"""

SLEEPER_SCRIPT = """\
import time


def nap():
    time.sleep(0.03)


def spin():
    end = time.perf_counter() + 0.05
    while time.perf_counter() < end:
        pass


nap()
spin()
"""
