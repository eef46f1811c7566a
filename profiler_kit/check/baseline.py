"""Baseline files: a bench run's samples, counts and function shares, in one JSON file.

A baseline travels as a CI artifact from the main branch to pull requests,
so it is self-contained: every timing sample (the significance test needs
them, not just medians), every count, and each target's CPU profile (so a
failed check can draw the diff report without the main branch's store).
Reading one is strict: a file that is not a baseline, or comes from a newer
profiler-kit, is refused with what to do.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import platform
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profiler_kit import __version__
from profiler_kit.errors import ProfilerKitError
from profiler_kit.store import Selection, open_store, safejson
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture

__all__ = [
    "FORMAT",
    "VERSION",
    "Baseline",
    "BaselineError",
    "BenchTarget",
    "latest_run",
    "load_baseline",
    "save_baseline",
    "write_targets",
]

FORMAT = "profiler-kit-baseline"
VERSION = 1


class BaselineError(ProfilerKitError):
    """A baseline file cannot be used (exit status 2)."""


@dataclass
class BenchTarget:
    """One target of one bench run."""

    name: str
    kind: str
    wall_s: list[float]
    cpu_s: list[float]
    counts: dict[str, int]
    profile: bytes | None = None
    capture_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "counts": self.counts,
            "capture_id": self.capture_id,
            "profile": base64.b64encode(self.profile).decode() if self.profile else None,
        }


@dataclass
class Baseline:
    run: str
    created: str
    targets: dict[str, BenchTarget]
    environment: dict[str, str] = field(default_factory=dict)


def targets_of(captures: Iterable[Capture]) -> dict[str, BenchTarget]:
    targets = {}
    for capture in captures:
        bench = capture.extra.get("bench") or {}
        targets[capture.target] = BenchTarget(
            name=capture.target,
            kind=capture.kind,
            wall_s=[float(v) for v in bench.get("wall_s", [capture.wall_s])],
            cpu_s=[float(v) for v in bench.get("cpu_s", [capture.cpu_s])],
            counts={str(k): int(v) for k, v in (bench.get("counts") or {}).items()},
            profile=capture.cpu_profile,
            capture_id=capture.id,
        )
    return targets


def latest_run(
    stores: Sequence[Path], run: str | None = None
) -> tuple[str, dict[str, BenchTarget]]:
    """The targets of one bench run in ``stores``: ``run`` (an id prefix) or the newest."""
    by_run: dict[str, list[Capture]] = {}
    newest: dict[str, float] = {}
    for path in stores:
        with open_store(path, create=False) as store:
            for capture in store.iter_captures(Selection()):
                if capture.reason != "bench":
                    continue
                run_id = str((capture.extra.get("bench") or {}).get("run", ""))
                by_run.setdefault(run_id, []).append(capture)
                newest[run_id] = max(newest.get(run_id, 0.0), capture.started_at)
    if not by_run:
        where = ", ".join(str(p) for p in stores)
        raise BaselineError(
            f"{where} holds no bench results: run `profiler-kit bench` first "
            "(e.g. profiler-kit bench script.py --repeat 20)"
        )
    if run is not None:
        chosen = [run_id for run_id in by_run if run_id.startswith(run)]
        if len(chosen) != 1:
            known = ", ".join(sorted(by_run)[:5])
            raise BaselineError(
                f"bench run {run!r} is {'ambiguous' if chosen else 'unknown'} (runs: {known})"
            )
        run_id = chosen[0]
    else:
        run_id = max(newest, key=lambda key: newest[key])
    return run_id, targets_of(by_run[run_id])


def write_targets(path: Path, targets: Iterable[BenchTarget]) -> None:
    """A store holding one capture per target (for the diff report of a failed check)."""
    now = time.time()
    captures = [
        Capture(
            id=new_capture_id(now),
            kind="request" if target.kind == "request" else "script",
            service="bench",
            host="",
            pid=0,
            started_at=now,
            wall_s=statistics.median(target.wall_s),
            cpu_s=statistics.median(target.cpu_s),
            reason="bench",
            target=target.name,
            route=target.name,
            cpu_profile=target.profile,
        )
        for target in targets
    ]
    with open_store(path) as store:
        store.add_many(captures)


def save_baseline(path: Path, run_id: str, targets: dict[str, BenchTarget]) -> None:
    document = {
        "format": FORMAT,
        "version": VERSION,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "run": run_id,
        "environment": {
            "profiler_kit": __version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "system": platform.system(),
        },
        "targets": {name: target.to_json() for name, target in sorted(targets.items())},
    }
    text = json.dumps(document, indent=1, sort_keys=False)
    try:
        if str(path) == "-":
            import sys

            sys.stdout.write(text + "\n")
        else:
            path.write_text(text + "\n", encoding="utf-8")
    except OSError as error:
        raise ProfilerKitError(f"cannot write {path}: {error.strerror}") from error


def load_baseline(path: Path) -> Baseline:
    """Read and validate a baseline file; every problem is one clear :class:`BaselineError`."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise BaselineError(f"cannot read the baseline {path}: {error.strerror}") from None
    try:
        document = safejson.loads(raw)
    except ValueError as error:
        raise BaselineError(f"{path} is not a baseline file (not JSON: {error})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise BaselineError(
            f"{path} is not a profiler-kit baseline (make one with `profiler-kit baseline save`)"
        )
    version = document.get("version")
    if not isinstance(version, int) or version < 1:
        raise BaselineError(f"{path}: baseline version {version!r} is not valid")
    if version > VERSION:
        raise BaselineError(
            f"{path} is a version {version} baseline, newer than this profiler-kit reads "
            f"({VERSION}): upgrade with pip install -U profiler-kit"
        )
    targets_raw = document.get("targets")
    if not isinstance(targets_raw, dict):
        raise BaselineError(f"{path}: 'targets' must be an object of bench targets")
    if not targets_raw:
        raise BaselineError(f"{path} holds no targets: save it from a bench run that measured some")
    environment = document.get("environment", {})
    if not isinstance(environment, dict):
        raise BaselineError(f"{path}: 'environment' must be an object")
    targets = {}
    for name, entry in targets_raw.items():
        targets[str(name)] = _target(path, str(name), entry)
    return Baseline(
        run=str(document.get("run", "")),
        created=str(document.get("created", "")),
        targets=targets,
        environment={str(k): str(v) for k, v in environment.items()},
    )


def _finite_non_negative(value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and math.isfinite(value) and value >= 0


def _target(path: Path, name: str, entry: Any) -> BenchTarget:
    where = f"{path}: target {name!r}"
    if not isinstance(entry, dict):
        raise BaselineError(f"{where} is not an object")
    series = {}
    for key in ("wall_s", "cpu_s"):
        values = entry.get(key)
        if (
            not isinstance(values, list)
            or not values
            or not all(
                isinstance(v, int | float)
                and not isinstance(v, bool)
                and math.isfinite(v)
                and v >= 0
                for v in values
            )
        ):
            raise BaselineError(
                f"{where}: {key!r} must be a non-empty list of finite non-negative numbers"
            )
        series[key] = [float(v) for v in values]
    counts = entry.get("counts", {})
    if not isinstance(counts, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()
    ):
        raise BaselineError(f"{where}: 'counts' must map names to non-negative integers")
    profile = entry.get("profile")
    blob = None
    if profile is not None:
        try:
            blob = base64.b64decode(str(profile), validate=True)
        except ValueError:
            raise BaselineError(f"{where}: 'profile' is not base64") from None
    return BenchTarget(
        name=name,
        kind=str(entry.get("kind", "script")),
        wall_s=series["wall_s"],
        cpu_s=series["cpu_s"],
        counts={str(k): int(v) for k, v in counts.items()},
        profile=blob,
        capture_id=str(entry["capture_id"]) if entry.get("capture_id") else None,
    )
