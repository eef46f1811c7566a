"""Spans derived from a capture's call tree, and the attributes that link a capture to a trace.

A sampling profile knows how long each function ran in total, not when each
call started. So derived spans are laid end to end from their parent's start
in call-tree order, their lengths scaled so that the whole profile spans the
request's wall time, and each is marked ``profiler_kit.derived_from_samples``
so nobody reads their start times as measured. Only frames above a share of
the request and a minimum length become spans, and at most ``max_spans`` of
them, so a deep framework stack cannot flood a trace backend.

Export (``profiler-kit export otlp``) and live mode share this module, so a
trace looks the same whichever way the spans arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from profiler_kit.analysis.calltree import CallNode, CallTree, FrameInfo
from profiler_kit.store.record import Capture

__all__ = [
    "DEFAULT_MAX_SPANS",
    "DerivedSpan",
    "capture_attributes",
    "derive_frame_spans",
    "hottest_frame",
    "link_attributes",
    "request_span_name",
]

DEFAULT_MAX_SPANS = 256
AttributeValue = str | bool | int | float


@dataclass(frozen=True)
class DerivedSpan:
    """One call-tree frame as a span; ``parent`` indexes the list, -1 is the request."""

    name: str
    parent: int
    start_ns: int
    end_ns: int
    attributes: dict[str, AttributeValue]


def hottest_frame(tree: CallTree) -> FrameInfo | None:
    """The application function where the most time went, counting what it called outside.

    Self time spent in library or built-in code is charged to the nearest
    application frame above it (``sum()`` called by ``burn()`` counts for
    ``burn``): that is the code a reader can change. With no application
    frame at all, the function with the most self time.
    """
    frames = tree.frames
    charged: dict[int, float] = {}
    pending: list[tuple[CallNode, int]] = [(tree.root, -1)]
    while pending:
        node, owner = pending.pop()
        if node.frame >= 0 and frames[node.frame].app:
            owner = node.frame
        # Synthetic frames ("[await]", "[out-of-context]") are waiting, not work.
        waiting = node.frame >= 0 and frames[node.frame].name.startswith("[")
        if owner >= 0 and node.self_time > 0 and not waiting:
            charged[owner] = charged.get(owner, 0.0) + node.self_time
        pending.extend((child, owner) for child in node.children.values())
    if charged:
        return frames[max(charged, key=lambda frame: charged[frame])]
    for spot in tree.hotspots(by="self"):
        if spot.self_time > 0 and not frames[spot.frame].name.startswith("["):
            return frames[spot.frame]
    return None


def code_attributes(frame: FrameInfo) -> dict[str, AttributeValue]:
    """``code.*`` attributes in the style OpenTelemetry's semantic conventions use."""
    attributes: dict[str, AttributeValue] = {"code.function": frame.name}
    if frame.file:
        attributes["code.filepath"] = frame.file
    if frame.line:
        attributes["code.lineno"] = frame.line
    return attributes


def link_attributes(capture: Capture, tree: CallTree) -> dict[str, AttributeValue]:
    """What the request's own server span learns about its capture."""
    attributes: dict[str, AttributeValue] = {
        "profiler_kit.capture_id": capture.id,
        "profiler_kit.cpu_time_ms": round(capture.cpu_s * 1000.0, 3),
        "profiler_kit.gc_time_ms": round(float(capture.extra.get("gc_s") or 0.0) * 1000.0, 3),
    }
    if capture.peak_memory is not None:
        attributes["profiler_kit.memory.peak_bytes"] = int(capture.peak_memory)
    frame = hottest_frame(tree)
    if frame is not None:
        attributes.update(code_attributes(frame))
    return attributes


def capture_attributes(capture: Capture, tree: CallTree) -> dict[str, AttributeValue]:
    """The exported request span's attributes: the link attributes plus the request."""
    attributes = link_attributes(capture, tree)
    attributes["profiler_kit.reason"] = capture.reason
    request: dict[str, Any] = {
        "http.request.method": capture.method,
        "http.route": capture.route,
        "url.path": capture.path,
        "http.response.status_code": capture.status,
    }
    attributes.update({key: value for key, value in request.items() if value is not None})
    if capture.kind == "script":
        attributes["profiler_kit.target"] = capture.target
    return attributes


def request_span_name(capture: Capture) -> str:
    if capture.kind == "request" and capture.method:
        return f"{capture.method} {capture.route or capture.path or capture.target}"
    return f"run {capture.target}"


def derive_frame_spans(
    tree: CallTree,
    start_ns: int,
    end_ns: int,
    *,
    min_share: float,
    min_frame_ms: float,
    max_spans: int = DEFAULT_MAX_SPANS,
) -> list[DerivedSpan]:
    """Spans for the frames that took at least ``min_share`` of the profile and ``min_frame_ms``.

    A frame's total time never exceeds its parent's, so a frame below the
    thresholds has no descendant above them: the walk stops there.
    """
    total = tree.total
    if total <= 0 or end_ns <= start_ns:
        return []
    scale = (end_ns - start_ns) / total  # nanoseconds of span per second of samples
    threshold = max(min_share * total, min_frame_ms / 1000.0)
    frames = tree.frames
    spans: list[DerivedSpan] = []
    # Depth-first, children in call-tree order; (node, parent index, parent start, parent end).
    pending: list[tuple[CallNode, int, int, int]] = [(tree.root, -1, start_ns, end_ns)]
    while pending and len(spans) < max_spans:
        node, parent, parent_start, parent_end = pending.pop()
        cursor = parent_start
        children = []
        for child in node.children.values():
            length = int(child.total * scale)
            child_start = cursor
            cursor += length
            if child.total < threshold or child.total <= 0:
                continue
            child_end = min(child_start + length, parent_end)
            children.append((child, child_start, child_end))
        for child, child_start, child_end in children:
            if len(spans) >= max_spans:
                break
            frame = frames[child.frame]
            attributes = code_attributes(frame)
            attributes["profiler_kit.derived_from_samples"] = True
            attributes["profiler_kit.share"] = round(child.total / total, 4)
            attributes["profiler_kit.self_time_ms"] = round(child.self_time * 1000.0, 3)
            spans.append(DerivedSpan(frame.name, parent, child_start, child_end, attributes))
            pending.append((child, len(spans) - 1, child_start, child_end))
    return spans
