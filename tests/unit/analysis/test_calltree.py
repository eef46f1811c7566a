"""Call trees and hotspot tables built from hand-made CPU profiles."""

from __future__ import annotations

import pytest

from profiler_kit.analysis.calltree import CallNode, CallTree, build_call_tree
from profiler_kit.capture.cpu import CpuProfile

MAIN = "main\x00/app/main.py\x001"
PARSE = "parse\x00/app/parse.py\x0010\x01cParser\x01l12"
LOADS = "loads\x00/usr/lib/python3.11/json/__init__.py\x00299"
HELPER = "helper\x00/app/util.py\x005"
REC = "walk\x00/app/tree.py\x0020"
BUILTIN = "<built-in method len>\x00<built-in>\x000"
LIBRARY = "get\x00/venv/lib/python3.11/site-packages/requests/api.py\x0062"
DIST = "run\x00/usr/lib/python3/dist-packages/gi/app.py\x0040"

# Weights chosen as exact binary fractions so sums compare exactly.
W_MAIN, W_PARSE, W_LOADS, W_HELPER, W_PARSE_AGAIN = 1.0, 2.0, 4.0, 0.5, 1.0


def _profile(
    frames: list[str], samples: list[tuple[list[str], float]], **meta: object
) -> CpuProfile:
    """A CpuProfile from root-first stacks of frame strings, interning as the encoder does."""
    stacks: list[list[int]] = []
    out: list[tuple[int, float]] = []
    for stack, seconds in samples:
        indices = [frames.index(frame) for frame in stack]
        if indices not in stacks:
            stacks.append(indices)
        out.append((stacks.index(indices), seconds))
    return CpuProfile(frames=list(frames), stacks=stacks, samples=out, meta=dict(meta))


def _basic() -> CpuProfile:
    return _profile(
        [MAIN, PARSE, LOADS, HELPER],
        [
            ([MAIN], W_MAIN),
            ([MAIN, PARSE], W_PARSE),
            ([MAIN, PARSE, LOADS], W_LOADS),
            ([MAIN, HELPER], W_HELPER),
            ([MAIN, PARSE], W_PARSE_AGAIN),  # same stack again: weights add
        ],
        sys_prefixes=["/usr/lib/python3.11"],
    )


def _ids(tree: CallTree) -> dict[str, int]:
    return {frame.name: index for index, frame in enumerate(tree.frames)}


def _child(node: CallNode, tree: CallTree, name: str) -> CallNode:
    (match,) = [c for c in node.children.values() if tree.frames[c.frame].name == name]
    return match


def test_totals_and_self_times() -> None:
    """Self time goes to the leaf of each sample; total time to every frame on its stack."""
    tree = build_call_tree([_basic()])
    ids = _ids(tree)
    grand_total = W_MAIN + W_PARSE + W_LOADS + W_HELPER + W_PARSE_AGAIN
    assert tree.total == grand_total
    assert tree.total_times[ids["main"]] == grand_total
    assert tree.self_times[ids["main"]] == W_MAIN
    assert tree.total_times[ids["Parser.parse"]] == W_PARSE + W_LOADS + W_PARSE_AGAIN
    assert tree.self_times[ids["Parser.parse"]] == W_PARSE + W_PARSE_AGAIN
    assert tree.total_times[ids["loads"]] == W_LOADS
    assert tree.self_times[ids["loads"]] == W_LOADS
    assert tree.total_times[ids["helper"]] == W_HELPER
    assert sum(tree.self_times.values()) == grand_total


def test_tree_nodes_mirror_the_stacks() -> None:
    """The call tree has one path per distinct stack with totals and self times per node."""
    tree = build_call_tree([_basic()])
    main = _child(tree.root, tree, "main")
    assert list(tree.root.children) == [main.frame]
    assert main.total == tree.total
    parse = _child(main, tree, "Parser.parse")
    helper = _child(main, tree, "helper")
    loads = _child(parse, tree, "loads")
    assert parse.total == W_PARSE + W_LOADS + W_PARSE_AGAIN
    assert parse.self_time == W_PARSE + W_PARSE_AGAIN
    assert loads.total == loads.self_time == W_LOADS
    assert helper.total == W_HELPER
    assert loads.children == {}
    # Every node's total is its own self time plus its children's totals
    pending = [tree.root]
    while pending:
        node = pending.pop()
        assert node.total == pytest.approx(
            node.self_time + sum(c.total for c in node.children.values())
        )
        pending.extend(node.children.values())


def test_hotspots_by_self_and_by_total() -> None:
    """hotspots('self') orders by self time and hotspots('total') by total time, heaviest first."""
    tree = build_call_tree([_basic()])
    names = [f.name for f in tree.frames]
    by_self = tree.hotspots("self")
    by_total = tree.hotspots("total")
    assert [names[s.frame] for s in by_self] == ["loads", "Parser.parse", "main", "helper"]
    assert [names[s.frame] for s in by_total] == ["main", "Parser.parse", "loads", "helper"]
    assert [s.self_time for s in by_self] == sorted((s.self_time for s in by_self), reverse=True)
    assert [names[s.frame] for s in tree.hotspots("total", limit=2)] == ["main", "Parser.parse"]
    top = by_self[0]
    assert (top.self_time, top.total_time) == (W_LOADS, W_LOADS)


def test_hotspot_self_ties_are_broken_by_total() -> None:
    """Functions with equal self time are ordered by total time."""
    a, b, c = "a\x00/app/a.py\x001", "b\x00/app/b.py\x001", "c\x00/app/c.py\x001"
    profile = _profile([a, b, c], [([a], 1.0), ([b], 1.0), ([b, c], 2.0)])
    tree = build_call_tree([profile])
    names = [f.name for f in tree.frames]
    # a and b both have self 1.0; b also has c below it (total 3.0)
    assert [names[s.frame] for s in tree.hotspots("self")] == ["c", "b", "a"]


def test_recursion_counted_once_per_sample_in_total_times() -> None:
    """A function recurring within one stack gets that sample's time once in total_times."""
    # GIVEN walk recursing three deep under main
    profile = _profile([MAIN, REC], [([MAIN, REC, REC, REC], 2.0), ([MAIN, REC], 0.5)])
    tree = build_call_tree([profile])
    ids = _ids(tree)
    # THEN its total is the time of the samples it is in, not multiplied by depth
    assert tree.total_times[ids["walk"]] == 2.5
    assert tree.self_times[ids["walk"]] == 2.5
    assert tree.total_times[ids["main"]] == 2.5
    # AND the tree still shows the nesting
    node = _child(tree.root, tree, "main")
    depth = 0
    while node.children:
        node = _child(node, tree, "walk")
        depth += 1
    assert depth == 3
    assert node.self_time == 2.0


def test_merging_profiles_adds_times_and_shares_frames() -> None:
    """Merging two profiles adds their times and reuses frames, even when line attributes differ."""
    first = _basic()
    # The same functions sampled at other lines (different \x01l attribute) in a second run
    second = _profile(
        [MAIN + "\x01l3", PARSE.replace("\x01l12", "\x01l15")],
        [([MAIN + "\x01l3", PARSE.replace("\x01l12", "\x01l15")], 3.0)],
    )
    tree = build_call_tree([first, second])
    ids = _ids(tree)
    single = build_call_tree([first])
    assert len(tree.frames) == len(single.frames)
    assert tree.total == single.total + 3.0
    parse = ids["Parser.parse"]
    assert tree.total_times[parse] == single.total_times[parse] + 3.0
    assert tree.self_times[parse] == single.self_times[parse] + 3.0
    assert list(tree.root.children) == [ids["main"]]


def test_adding_the_same_profile_twice_doubles_everything() -> None:
    """build_call_tree over [p, p] gives exactly twice the times of [p]."""
    once = build_call_tree([_basic()])
    twice = build_call_tree([_basic(), _basic()])
    assert twice.total == 2 * once.total
    assert twice.self_times == {k: 2 * v for k, v in once.self_times.items()}
    assert twice.total_times == {k: 2 * v for k, v in once.total_times.items()}


def test_class_attribute_gives_qualified_name() -> None:
    """A frame with a \\x01c class attribute is named Class.method; file and line are parsed."""
    tree = build_call_tree([_basic()])
    frame = tree.frames[_ids(tree)["Parser.parse"]]
    assert frame.file == "/app/parse.py"
    assert frame.line == 10
    assert frame.location == "/app/parse.py:10"


def test_app_flag() -> None:
    """Site-/dist-packages, <pseudo> files and the stdlib under a sys prefix are not app code."""
    frames = [MAIN, BUILTIN, LIBRARY, DIST, LOADS]
    profile = _profile(frames, [(frames, 1.0)], sys_prefixes=["/usr"])
    tree = build_call_tree([profile])
    app = {frame.name: frame.app for frame in tree.frames}
    assert app == {
        "main": True,
        "<built-in method len>": False,
        "get": False,
        "run": False,
        "loads": False,
    }
    assert tree.frames[_ids(tree)["<built-in method len>"]].location == "<built-in>"


def test_profiler_kit_frames_are_never_app_code() -> None:
    """Our own frames (a thread hop in web/, wherever it is installed) are not the app's code."""
    from profiler_kit.web import threadpool

    hop = f"_hop\x00{threadpool.__file__}\x0028"
    profile = _profile([MAIN, hop], [([MAIN, hop], 1.0)])
    app = {frame.name: frame.app for frame in build_call_tree([profile]).frames}
    assert app == {"main": True, "_hop": False}


def test_app_under_the_interpreter_prefix_is_app_code() -> None:
    """An app in /usr/src/app is app code even when Python's prefix is /usr."""
    served = "handler\x00/usr/src/app/views.py\x0010"
    profile = _profile([served], [([served], 1.0)], sys_prefixes=["/usr"])
    assert build_call_tree([profile]).frames[0].app is True


def test_empty_stack_counts_as_root_self_time() -> None:
    """A sample with an empty stack (all frames trimmed) adds to the root only."""
    profile = _profile([MAIN], [([], 0.25), ([MAIN], 1.0)])
    tree = build_call_tree([profile])
    assert tree.total == 1.25
    assert tree.root.self_time == 0.25
    assert sum(tree.self_times.values()) == 1.0


def test_empty_tree() -> None:
    """A tree built from no profiles has zero total and no hotspots."""
    tree = build_call_tree([])
    assert tree.total == 0.0
    assert tree.hotspots() == []
