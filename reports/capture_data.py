"""The plain data behind the report of one capture (data contract version 1).

Kept apart from rendering so tests can assert on numbers, not on HTML, and
so the template never computes anything.
"""

from __future__ import annotations

import datetime
from typing import Any

from profiler_kit.analysis.calltree import CallNode
from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.capture.memory_summary import AllocationSite
from profiler_kit.store.record import Capture

__all__ = ["DATA_VERSION", "capture_report_data", "tree_data"]

DATA_VERSION = 1
HOTSPOT_ROWS = 200
MIN_NODE_SHARE = 0.0005  # nodes below 0.05 % of the root are folded into their parent


def capture_report_data(view: CaptureView) -> dict[str, Any]:
    capture, tree = view.capture, view.tree
    total = tree.total
    started = datetime.datetime.fromtimestamp(capture.started_at, tz=datetime.UTC)
    frames = [
        {"name": f.name, "file": view.short(f.file), "line": f.line, "app": f.app}
        for f in tree.frames
    ]
    hotspots = [
        {
            "f": spot.frame,
            "self_s": spot.self_time,
            "total_s": spot.total_time,
            "self_share": spot.self_time / total if total else 0.0,
            "total_share": spot.total_time / total if total else 0.0,
        }
        for spot in tree.hotspots("self", HOTSPOT_ROWS)
    ]
    return {
        "version": DATA_VERSION,
        "title": f"profiler-kit: {capture.target}",
        "capture": {
            "id": capture.id,
            "kind": capture.kind,
            "target": capture.target,
            "started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wall_s": capture.wall_s,
            "cpu_s": capture.cpu_s,
            "samples": view.samples,
            "interval_s": capture.extra.get("interval"),
            "reason": capture.reason,
            "exit_code": capture.exit_code,
            "host": capture.host,
            "pid": capture.pid,
            "python": capture.extra.get("python"),
            "trace_id": capture.trace_id,
            "span_id": capture.span_id,
        },
        "request": _request(capture) if capture.kind == "request" else None,
        "frames": frames,
        "tree": tree_data(tree.root, total * MIN_NODE_SHARE),
        "hotspots": hotspots,
        "memory": _memory(view),
    }


def _request(capture: Capture) -> dict[str, Any]:
    extra = capture.extra
    return {
        "method": capture.method,
        "route": capture.route,
        "path": capture.path,
        "status": capture.status,
        "gc_s": extra.get("gc_s", 0.0),
        "gc_collections": extra.get("gc_collections", 0),
        "rss_delta": extra.get("rss_delta"),
        "framework": extra.get("framework"),
    }


def tree_data(root: CallNode, min_total: float) -> dict[str, Any]:
    """The tree as nested dicts, built without recursion (stacks can be deep)."""
    out_root: dict[str, Any] = {"f": root.frame, "t": root.total, "s": root.self_time}
    pending = [(root, out_root)]
    while pending:
        node, out = pending.pop()
        children = []
        folded = 0.0
        for child in node.children.values():
            if child.total < min_total:
                folded += child.total
                continue
            out_child = {"f": child.frame, "t": child.total, "s": child.self_time}
            children.append(out_child)
            pending.append((child, out_child))
        if folded:
            out["s"] += folded  # too small to draw: shown as time in this frame
        if children:
            out["c"] = children
    return out_root


def _memory(view: CaptureView) -> dict[str, Any] | None:
    memory = view.memory
    if memory is None:
        return None

    def sites(items: list[AllocationSite]) -> list[dict[str, Any]]:
        return [
            {
                "bytes": site.bytes,
                "count": site.count,
                "stack": [
                    {"name": function, "file": view.short(file), "line": line}
                    for function, file, line in site.stack
                ],
            }
            for site in items
        ]

    return {
        "peak_bytes": memory.peak_bytes,
        "total_bytes": memory.total_bytes,
        "allocations": memory.allocations,
        "leaked_bytes": memory.leaked_bytes,
        "leaked_allocations": memory.leaked_allocations,
        "top_sites": sites(memory.top_sites),
        "leaks": sites(memory.leaks),
        "notes": list(memory.notes),
    }
