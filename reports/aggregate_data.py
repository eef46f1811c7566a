"""The plain data behind the report of many captures (aggregate contract version 1).

Built from :mod:`profiler_kit.analysis.aggregate` results; tested on its own, rendered
by ``aggregate.html.j2``. Trees are pruned to what can be seen (nodes under
0.1 % of their route), so 100,000 captures make a report of a few MB.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from profiler_kit.analysis.aggregate import Aggregate, RouteAggregate
from profiler_kit.analysis.calltree import CallNode, CallTree, FrameTable
from profiler_kit.capture.cpu import decode_profile
from profiler_kit.errors import CaptureNotFoundError
from profiler_kit.reports.capture_data import tree_data
from profiler_kit.units import counted

__all__ = ["aggregate_report_data", "DATA_VERSION"]

DATA_VERSION = 1
MIN_NODE_SHARE = 0.001
HOTSPOT_ROWS = 100
MEMORY_ROWS = 20
HISTOGRAM_BINS = 16
_STDLIB = re.compile(r".*/lib/python\d+\.\d+/")


def aggregate_report_data(
    current: Aggregate,
    baseline: Aggregate | None = None,
    *,
    labels: tuple[str, str] = ("baseline", "current"),
) -> dict[str, Any]:
    table = current.table
    routes = sorted(
        current.routes.values(),
        key=lambda r: (r.wall.quantile(95), r.captures),
        reverse=True,
    )
    data_routes = []
    for route in routes:
        entry = _route(route, current)
        if baseline is not None and route.key in baseline.routes:
            entry["diff"] = _route_diff(route, baseline.routes[route.key], table)
        data_routes.append(entry)
    return {
        "version": DATA_VERSION,
        "kind": "aggregate",
        "title": f"profiler-kit: {counted(current.captures, 'capture')}",
        "generated_at": _iso(datetime.datetime.now(datetime.UTC).timestamp()),
        "totals": {
            "captures": current.captures,
            "routes": len(current.routes),
            "first": _iso(current.first),
            "last": _iso(current.last),
            "skipped": len(current.skipped),
        },
        "frames": [
            {"name": f.name, "file": short_file(f.file), "line": f.line, "app": f.app}
            for f in table.frames
        ],
        "routes": data_routes,
        "diff": _diff(current, baseline, labels) if baseline is not None else None,
    }


def short_file(file: str) -> str:
    """A readable path without knowing the capture's ``sys.path``."""
    if not file or file.startswith("<"):
        return file
    for marker in ("site-packages/", "dist-packages/"):
        if marker in file:
            return file.split(marker, 1)[1]
    match = _STDLIB.match(file)
    if match:
        return file[match.end() :]
    cwd = str(Path.cwd()) + os.sep
    return file[len(cwd) :] if file.startswith(cwd) else file


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.datetime.fromtimestamp(moment, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _route(route: RouteAggregate, source: Aggregate) -> dict[str, Any]:
    wall = route.wall
    tree = route.tree(source.table)
    count = route.captures or 1
    return {
        "key": route.key,
        "method": route.method,
        "route": route.route,
        "captures": route.captures,
        "errors": route.errors,
        "error_rate": route.errors / count,
        "p50_s": wall.quantile(50),
        "p95_s": wall.quantile(95),
        "p99_s": wall.quantile(99),
        "mean_s": wall.total / count,
        "max_s": wall.maximum,
        "cpu_mean_s": route.cpu_total / count,
        "gc_mean_s": route.gc_total / count,
        "peak_memory_max": route.peak_memory_max,
        "histogram": wall.histogram(HISTOGRAM_BINS),
        "tree": tree_data(tree.root, tree.total * MIN_NODE_SHARE),
        "hotspots": _hotspots(tree, HOTSPOT_ROWS, route.frame_captures),
        "memory_sites": _memory_sites(route),
        "slowest": [
            view
            for wall, capture_id, store in route.slowest_first()
            if (view := _capture_view(source, wall, capture_id, store)) is not None
        ],
        "diff": None,
    }


def _hotspots(
    tree: CallTree, limit: int, captures: dict[int, int] | None = None
) -> list[dict[str, Any]]:
    total = tree.total or 1.0
    rows = []
    for spot in tree.hotspots("self", limit):
        row: dict[str, Any] = {
            "f": spot.frame,
            "self_s": spot.self_time,
            "total_s": spot.total_time,
            "self_share": spot.self_time / total,
            "total_share": spot.total_time / total,
        }
        if captures is not None:
            row["captures"] = captures.get(spot.frame, 0)
        rows.append(row)
    return rows


def _memory_sites(route: RouteAggregate) -> list[dict[str, Any]]:
    heaviest = sorted(route.memory_sites.items(), key=lambda item: item[1][0], reverse=True)
    return [
        {
            "bytes": totals[0],
            "count": totals[1],
            "captures": totals[2],
            "stack": [{"name": n, "file": short_file(f), "line": line} for n, f, line in stack],
        }
        for stack, totals in heaviest[:MEMORY_ROWS]
    ]


def _capture_view(
    source: Aggregate, wall: float, capture_id: str, store: int
) -> dict[str, Any] | None:
    try:
        capture = source.fetch(capture_id, store)
    except CaptureNotFoundError:
        return None  # removed by retention while the report was being made
    tree = CallTree(source.table)
    if capture.cpu_profile:
        tree.add_profile(decode_profile(capture.cpu_profile))
    return {
        "id": capture.id,
        "wall_s": wall,
        "cpu_s": capture.cpu_s,
        "status": capture.status,
        "reason": capture.reason,
        "started_at": _iso(capture.started_at),
        "tree": tree_data(tree.root, tree.total * MIN_NODE_SHARE),
        "hotspots": _hotspots(tree, 30),
    }


# -- differences -------------------------------------------------------------


def _route_diff(current: RouteAggregate, base: RouteAggregate, table: FrameTable) -> dict[str, Any]:
    now_tree, base_tree = current.tree(table), base.tree(table)
    now_n, base_n = current.captures or 1, base.captures or 1
    base_wall = base.wall
    floor = max(now_tree.total / now_n, base_tree.total / base_n) * MIN_NODE_SHARE
    return {
        "baseline_captures": base.captures,
        "baseline_p50_s": base_wall.quantile(50),
        "baseline_p95_s": base_wall.quantile(95),
        "baseline_mean_s": base_wall.total / base_n,
        "tree": _diff_tree(now_tree.root, base_tree.root, now_n, base_n, floor),
        "functions": _function_changes([(now_tree, now_n)], [(base_tree, base_n)]),
    }


def _diff_tree(
    now: CallNode, base: CallNode | None, now_n: int, base_n: int, floor: float
) -> dict[str, Any]:
    """Per-request mean seconds now (``t``) and in the baseline (``b``), path by path."""
    root: dict[str, Any] = {"f": now.frame, "t": now.total / now_n, "b": _mean(base, base_n)}
    pending: list[tuple[CallNode | None, CallNode | None, dict[str, Any]]] = [(now, base, root)]
    while pending:
        now_node, base_node, out = pending.pop()
        frames = set(now_node.children if now_node else ()) | set(
            base_node.children if base_node else ()
        )
        children = []
        for frame in frames:
            now_child = now_node.children.get(frame) if now_node else None
            base_child = base_node.children.get(frame) if base_node else None
            t, b = _mean(now_child, now_n), _mean(base_child, base_n)
            if max(t, b) < floor:
                continue
            child = {"f": frame, "t": t, "b": b}
            children.append(child)
            pending.append((now_child, base_child, child))
        if children:
            out["c"] = children
    return root


def _mean(node: CallNode | None, count: int) -> float:
    return node.total / count if node is not None else 0.0


def _function_changes(
    now: Iterable[tuple[CallTree, int]], base: Iterable[tuple[CallTree, int]], limit: int = 50
) -> list[dict[str, Any]]:
    def per_request(trees: Iterable[tuple[CallTree, int]]) -> dict[int, float]:
        totals: dict[int, float] = {}
        count = 0
        for tree, captures in trees:
            count += captures
            for frame, seconds in tree.self_times.items():
                totals[frame] = totals.get(frame, 0.0) + seconds
        return {frame: seconds / (count or 1) for frame, seconds in totals.items()}

    now_self, base_self = per_request(now), per_request(base)
    rows = [
        {
            "f": frame,
            "base_self_s": base_self.get(frame, 0.0),
            "new_self_s": now_self.get(frame, 0.0),
            "delta_s": now_self.get(frame, 0.0) - base_self.get(frame, 0.0),
        }
        for frame in set(now_self) | set(base_self)
    ]
    rows.sort(key=lambda row: abs(row["delta_s"]), reverse=True)
    return rows[:limit]


def _diff(current: Aggregate, baseline: Aggregate, labels: tuple[str, str]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for key, route in current.routes.items():
        base = baseline.routes.get(key)
        if base is None:
            continue
        now_w, base_w = route.wall, base.wall
        base_p50, new_p50 = base_w.quantile(50), now_w.quantile(50)
        rows.append(
            {
                "key": key,
                "base_p50_s": base_p50,
                "new_p50_s": new_p50,
                "base_p95_s": base_w.quantile(95),
                "new_p95_s": now_w.quantile(95),
                "ratio_p50": new_p50 / base_p50 if base_p50 else None,
                "base_captures": base.captures,
                "new_captures": route.captures,
            }
        )
    rows.sort(key=lambda row: row["ratio_p50"] or 0.0, reverse=True)
    table = current.table
    now_trees = [(r.tree(table), r.captures) for r in current.routes.values()]
    base_trees = [(r.tree(table), r.captures) for r in baseline.routes.values()]
    return {
        "baseline_label": labels[0],
        "current_label": labels[1],
        "routes": rows,
        "functions": _function_changes(now_trees, base_trees),
    }
