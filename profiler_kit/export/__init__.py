"""Exports of captures to other tools' profile formats.

Every format starts from the same :class:`~profiler_kit.export.stacks.MergedStacks`
(the selected captures folded into weighted root-first stacks over one frame
table), so the formats cannot disagree on what was selected or on the totals:

* :mod:`~profiler_kit.export.speedscope`: speedscope's JSON file format;
* :mod:`~profiler_kit.export.collapsed`: ``a;b;c count`` lines for
  flamegraph.pl and inferno;
* :mod:`~profiler_kit.export.pprof`: gzipped ``profile.proto`` for pprof and
  Pyroscope, written by the small encoder in :mod:`~profiler_kit.export.protowire`.

Captures are chosen from the stores by :mod:`~profiler_kit.analysis.sources`,
which the reports read through too. The command line is
:mod:`profiler_kit.cli.export`.
"""

from __future__ import annotations

from profiler_kit.analysis.sources import count_captures, iter_captures
from profiler_kit.export.stacks import MergedStacks, StackWeight, apportion, merge_captures

__all__ = [
    "MergedStacks",
    "StackWeight",
    "apportion",
    "count_captures",
    "iter_captures",
    "merge_captures",
]
