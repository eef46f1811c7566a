"""Call trees and hotspot tables from CPU profiles, as plain data.

Built in one pass over the distinct stacks of each profile (not over every
sample, and without pyinstrument's frame objects), so merging many captures
stays linear. Reports, exports and the terminal summary all read the result.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from profiler_kit import PACKAGE_DIR
from profiler_kit.capture.cpu import CpuProfile

__all__ = ["CallNode", "CallTree", "FrameInfo", "FrameTable", "Hotspot", "build_call_tree"]


@dataclass(frozen=True)
class FrameInfo:
    """A function: qualified name, source file and first line."""

    name: str
    file: str
    line: int
    app: bool

    @property
    def location(self) -> str:
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass
class CallNode:
    frame: int  # index into CallTree.frames; -1 for the root
    total: float = 0.0
    self_time: float = 0.0
    children: dict[int, CallNode] = field(default_factory=dict)


@dataclass(frozen=True)
class Hotspot:
    frame: int
    self_time: float
    total_time: float


class FrameTable:
    """Interns frame strings into shared ids, so trees of many captures share frames.

    Frames are keyed by pyinstrument's identifier without its per-sample
    attributes (the current line), so one function is one frame however many
    lines were sampled.
    """

    def __init__(self) -> None:
        self.frames: list[FrameInfo] = []
        self._ids: dict[str, int] = {}
        self._prefixes: tuple[str, ...] = ()

    def ids_for(self, profile: CpuProfile) -> list[int]:
        """Global ids of a profile's local frames, index for index."""
        prefixes = profile.meta.get("sys_prefixes", ())
        if prefixes and not set(prefixes) <= set(self._prefixes):
            self._prefixes = tuple(dict.fromkeys((*self._prefixes, *prefixes)))
        ids = self._ids
        out = []
        for raw in profile.frames:
            known = ids.get(raw)
            out.append(self._intern(raw) if known is None else known)
        return out

    def _intern(self, raw: str) -> int:
        identifier, _, attributes = raw.partition("\x01")
        known = self._ids.get(identifier)
        if known is None:
            name, _, rest = identifier.partition("\x00")
            file, _, line = rest.partition("\x00")
            for attribute in attributes.split("\x01") if attributes else ():
                if attribute.startswith("c") and "." not in name:
                    name = f"{attribute[1:]}.{name}"
            known = len(self.frames)
            self.frames.append(
                FrameInfo(
                    name=name or "<unknown>",
                    file=file,
                    line=int(line) if line.isdigit() else 0,
                    app=_is_application_file(file, self._prefixes),
                )
            )
            self._ids[identifier] = known
        if raw != identifier:
            self._ids[raw] = known  # later lookups of this exact string skip parsing
        return known


class CallTree:
    """The merged call tree of some profiles, and per-function self and total times."""

    def __init__(self, table: FrameTable | None = None) -> None:
        self.table = table if table is not None else FrameTable()
        self.root = CallNode(frame=-1)
        self.self_times: dict[int, float] = {}
        self.total_times: dict[int, float] = {}

    @property
    def frames(self) -> list[FrameInfo]:
        return self.table.frames

    @property
    def total(self) -> float:
        return self.root.total

    def hotspots(self, by: str = "self", limit: int | None = None) -> list[Hotspot]:
        """Functions ordered by self or total time, heaviest first."""
        spots = [
            Hotspot(frame, self.self_times.get(frame, 0.0), total)
            for frame, total in self.total_times.items()
        ]
        if by == "self":
            spots.sort(key=lambda s: (s.self_time, s.total_time), reverse=True)
        else:
            spots.sort(key=lambda s: (s.total_time, s.self_time), reverse=True)
        return spots[:limit] if limit is not None else spots

    def add_profile(self, profile: CpuProfile) -> None:
        """Merge one profile's samples into the tree."""
        local_to_global = self.table.ids_for(profile)
        for stack_index, seconds in profile.stack_weights().items():
            stack = [local_to_global[i] for i in profile.stacks[stack_index]]
            self.add_stack(stack, seconds)

    def add_stack(self, stack: Sequence[int], seconds: float) -> None:
        """Add ``seconds`` to one root-first stack of frame ids."""
        node = self.root
        node.total += seconds
        for frame in stack:
            child = node.children.get(frame)
            if child is None:
                child = node.children[frame] = CallNode(frame)
            child.total += seconds
            node = child
        if stack:
            node.self_time += seconds
            leaf = stack[-1]
            self.self_times[leaf] = self.self_times.get(leaf, 0.0) + seconds
            for frame in set(stack):
                self.total_times[frame] = self.total_times.get(frame, 0.0) + seconds
        else:
            node.self_time += seconds


def _is_application_file(file: str, prefixes: Sequence[str]) -> bool:
    # profiler-kit's own frames (thread hops, middlewares) are never the app's code,
    # wherever profiler-kit is installed (an editable install is not in site-packages).
    if not file or file.startswith("<") or file.startswith(PACKAGE_DIR):
        return False
    if "site-packages" in file or "dist-packages" in file:
        return False
    # The standard library lives in <prefix>/lib/pythonX.Y (Lib on Windows),
    # console scripts (uvicorn, gunicorn) in <prefix>/bin.
    return not any(
        file.startswith(
            (
                os.path.join(prefix, "lib", "python"),
                os.path.join(prefix, "Lib", ""),
                os.path.join(prefix, "bin", ""),
            )
        )
        for prefix in prefixes
    )


def build_call_tree(profiles: Sequence[CpuProfile]) -> CallTree:
    """One tree merged from any number of profiles."""
    tree = CallTree()
    for profile in profiles:
        tree.add_profile(profile)
    return tree
