"""Call trees and hotspot tables from CPU profiles, as plain data.

Built in one pass over the distinct stacks of each profile (not over every
sample, and without pyinstrument's frame objects), so merging many captures
stays linear. Reports, exports and the terminal summary all read the result.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from profiler_kit.cpu import CpuProfile

__all__ = ["FrameInfo", "CallNode", "Hotspot", "CallTree", "build_call_tree"]


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


@dataclass
class CallTree:
    """Frames, the merged call tree, and per-function self and total times."""

    frames: list[FrameInfo] = field(default_factory=list)
    root: CallNode = field(default_factory=lambda: CallNode(frame=-1))
    self_times: dict[int, float] = field(default_factory=dict)
    total_times: dict[int, float] = field(default_factory=dict)
    _frame_ids: dict[str, int] = field(default_factory=dict, repr=False)
    _prefixes: tuple[str, ...] = field(default=(), repr=False)

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
        prefixes = tuple(profile.meta.get("sys_prefixes", ()))
        if prefixes:
            self._prefixes = tuple(dict.fromkeys(self._prefixes + prefixes))
        local_to_global = [self._frame_id(raw) for raw in profile.frames]
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

    def _frame_id(self, raw: str) -> int:
        identifier, _, attributes = raw.partition("\x01")
        known = self._frame_ids.get(identifier)
        if known is not None:
            return known
        name, _, rest = identifier.partition("\x00")
        file, _, line = rest.partition("\x00")
        for attribute in attributes.split("\x01") if attributes else ():
            if attribute.startswith("c") and "." not in name:
                name = f"{attribute[1:]}.{name}"
        info = FrameInfo(
            name=name or "<unknown>",
            file=file,
            line=int(line) if line.isdigit() else 0,
            app=_is_application_file(file, self._prefixes),
        )
        self._frame_ids[identifier] = len(self.frames)
        self.frames.append(info)
        return self._frame_ids[identifier]


def _is_application_file(file: str, prefixes: Sequence[str]) -> bool:
    if not file or file.startswith("<"):
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
