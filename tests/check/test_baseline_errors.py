"""Malformed baselines: ``check`` exits 2 with one line saying what is wrong, never a traceback.

Every broken file is derived from a real ``baseline save`` so that exactly one
thing is wrong with it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Document = dict[str, Any]
TARGET = "knobs.py"


@pytest.fixture(scope="module")
def saved(kit_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A kit with a bench run in its store and that run as ``baseline.json``."""
    kit = kit_factory(tmp_path_factory.mktemp("baseline_errors"))
    kit.copy("knobs.py")
    kit.bench("--no-memory", "knobs.py", repeat=3, warmup=0)
    kit.save_baseline(kit.cwd / "baseline.json")
    return kit


def _valid(saved: Any) -> Document:
    document = json.loads((saved.cwd / "baseline.json").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_saved_baseline_is_documented_format(saved: Any) -> None:
    """What ``baseline save`` writes, which the broken files below are made from."""
    document = _valid(saved)
    assert document["format"] == "profiler-kit-baseline" and document["version"] == 1
    assert set(document) >= {"created", "run", "environment", "targets"}
    target = document["targets"][TARGET]
    assert set(target) >= {"kind", "wall_s", "cpu_s", "counts", "profile"}
    assert len(target["wall_s"]) == len(target["cpu_s"]) == 3
    result = saved("check", "--baseline", "baseline.json")
    assert result.returncode == 0, saved.explain(result)


def _target(change: Callable[[Document], None]) -> Callable[[Document], None]:
    """A change of the baseline's one target."""
    return lambda document: change(document["targets"][TARGET])


def _set(key: str, value: Any) -> Callable[[Document], None]:
    return lambda document: document.__setitem__(key, value)


def _delete(key: str) -> Callable[[Document], None]:
    return lambda document: document.__delitem__(key)


def _set_count(name: str, value: Any) -> Callable[[Document], None]:
    return _target(lambda target: target["counts"].__setitem__(name, value))


def _set_sample(key: str, value: Any) -> Callable[[Document], None]:
    return _target(lambda target: target[key].__setitem__(0, value))


def _infinite_and_regressed(document: Document) -> None:
    """Infinite wall times, and one call fewer so that the current run regresses (and the
    diff report, which draws the baseline's median, is written)."""
    target = document["targets"][TARGET]
    target["wall_s"] = [float("inf")] * len(target["wall_s"])
    target["counts"]["calls"] -= 1


DOCUMENT_ERRORS = [
    pytest.param(_set("format", "something-else"), ["not a profiler-kit baseline"], id="format"),
    pytest.param(_delete("format"), ["not a profiler-kit baseline"], id="no-format"),
    pytest.param(_set("version", 2), ["version 2", "upgrade", "pip install -U"], id="newer"),
    pytest.param(_set("version", "1"), ["version '1'"], id="version-string"),
    pytest.param(_set("version", 0), ["version 0"], id="version-zero"),
    pytest.param(_delete("version"), ["version None"], id="no-version"),
    pytest.param(_delete("targets"), ["'targets'"], id="no-targets"),
    pytest.param(_set("targets", [TARGET]), ["'targets'"], id="targets-list"),
    pytest.param(_set("targets", {TARGET: 7}), [TARGET, "not an object"], id="target-number"),
    pytest.param(_target(lambda t: t.pop("wall_s")), [TARGET, "'wall_s'"], id="no-wall"),
    pytest.param(_target(lambda t: t.pop("cpu_s")), [TARGET, "'cpu_s'"], id="no-cpu"),
    pytest.param(
        _set_sample("cpu_s", -0.5), [TARGET, "'cpu_s'", "non-negative"], id="negative-cpu"
    ),
    pytest.param(_set_sample("wall_s", "fast"), ["'wall_s'"], id="wall-string"),
    pytest.param(_set_sample("wall_s", True), ["'wall_s'"], id="wall-bool"),
    pytest.param(_set_sample("wall_s", None), ["'wall_s'"], id="wall-null"),
    pytest.param(_target(lambda t: t.__setitem__("wall_s", [])), ["'wall_s'"], id="wall-empty"),
    pytest.param(_target(lambda t: t.__setitem__("wall_s", 0.1)), ["'wall_s'"], id="wall-scalar"),
    pytest.param(_set_count("calls", -3), [TARGET, "'counts'", "non-negative"], id="count-neg"),
    pytest.param(_set_count("calls", "many"), ["'counts'"], id="count-string"),
    pytest.param(_set_count("calls", 1.5), ["'counts'"], id="count-float"),
    pytest.param(_target(lambda t: t.__setitem__("counts", [1])), ["'counts'"], id="counts-list"),
    pytest.param(
        _target(lambda t: t.__setitem__("profile", "%%% not base64")),
        ["'profile'", "base64"],
        id="profile",
    ),
    # Non-finite samples and a malformed environment are refused when loading.
    pytest.param(
        _infinite_and_regressed,
        ["Infinity"],
        id="wall-infinite",
    ),
    pytest.param(
        _set("environment", "ci"),
        ["environment"],
        id="environment-string",
    ),
]


@pytest.mark.parametrize(("change", "fragments"), DOCUMENT_ERRORS)
def test_malformed_document(
    saved: Any, tmp_path: Path, change: Callable[[Document], None], fragments: list[str]
) -> None:
    document = copy.deepcopy(_valid(saved))
    change(document)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), encoding="utf-8")  # Infinity is written as such
    result = saved("check", "--baseline", broken, "--format", "json", "--report", tmp_path / "r")
    line = saved.assert_input_error(result, *fragments)
    assert str(broken) in line, line
    assert result.stdout == ""


FILE_ERRORS = [
    pytest.param(b"{not json", ["not JSON"], id="not-json"),
    pytest.param(b"", ["not JSON"], id="empty"),
    pytest.param(b"   \n", ["not JSON"], id="blank"),
    pytest.param(b"\xff\xfe\x00\x01 binary", ["not JSON"], id="binary"),
    pytest.param(b'"profiler-kit-baseline"', ["not a profiler-kit baseline"], id="json-string"),
    pytest.param(b"[1, 2, 3]", ["not a profiler-kit baseline"], id="json-list"),
    pytest.param(b"null", ["not a profiler-kit baseline"], id="json-null"),
    pytest.param(
        b'{"format": "profiler-kit-check", "version": 1, "passed": true}',
        ["not a profiler-kit baseline", "baseline save"],
        id="check-result-instead",
    ),
]


@pytest.mark.parametrize(("content", "fragments"), FILE_ERRORS)
def test_not_a_baseline_file(
    saved: Any, tmp_path: Path, content: bytes, fragments: list[str]
) -> None:
    broken = tmp_path / "baseline.json"
    broken.write_bytes(content)
    result = saved("check", "--baseline", broken)
    saved.assert_input_error(result, str(broken), *fragments)


def test_baseline_is_a_directory(saved: Any, tmp_path: Path) -> None:
    result = saved("check", "--baseline", tmp_path)
    saved.assert_input_error(result, "'--baseline'", "is a directory")


def test_baseline_missing(saved: Any, tmp_path: Path) -> None:
    result = saved("check", "--baseline", tmp_path / "nowhere.json")
    saved.assert_input_error(result, "nowhere.json", "No such file")


def test_baseline_option_missing(saved: Any) -> None:
    result = saved("check")
    saved.assert_input_error(result, "--baseline")


def test_baseline_save_without_bench(kit: Any) -> None:
    """Nothing to save: exit 2, and no baseline file is left behind."""
    kit.write("script.py", "print('hi')\n")
    kit("run", "--no-report", "-q", "script.py", check_rc=0)
    result = kit("baseline", "save", "-o", "baseline.json")
    kit.assert_input_error(result, "no bench results")
    assert not (kit.cwd / "baseline.json").exists()


def test_baseline_save_unknown_run(saved: Any, tmp_path: Path) -> None:
    result = saved("baseline", "save", "--run", "NOPE", "-o", tmp_path / "b.json")
    saved.assert_input_error(result, "'NOPE'", "unknown")
    assert not (tmp_path / "b.json").exists()
