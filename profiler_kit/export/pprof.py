"""pprof's ``profile.proto``, gzipped: what ``go tool pprof`` and Pyroscope read.

Message and field numbers are those of google/pprof's ``proto/profile.proto``
(package ``perftools.profiles``). Each sample carries two values:

* ``samples/count``, the number of samples, first as the format asks of a
  count;
* ``wall/nanoseconds``, the wall-clock time between samples that pyinstrument
  (and the thread sampler used with memray) measures, which is the default
  sample type. It is not CPU time: a thread waiting on I/O still accumulates it.

Python frames carry a function, its file and its first line, so there is one
function and one location per frame, all under one mapping that says symbols
are already resolved (so pprof does not try to symbolize addresses).
"""

from __future__ import annotations

import gzip

from profiler_kit import __version__
from profiler_kit.analysis.calltree import FrameInfo
from profiler_kit.export.protowire import MessageWriter
from profiler_kit.export.stacks import MergedStacks, apportion

__all__ = ["SAMPLE_TYPES", "pprof_profile", "render_pprof"]

SAMPLE_TYPES = (("samples", "count"), ("wall", "nanoseconds"))
DEFAULT_INTERVAL_S = 0.001
MAPPING_ID = 1

# Field numbers of profile.proto.
_PROFILE_SAMPLE_TYPE, _PROFILE_SAMPLE, _PROFILE_MAPPING, _PROFILE_LOCATION = 1, 2, 3, 4
_PROFILE_FUNCTION, _PROFILE_STRING_TABLE = 5, 6
_PROFILE_TIME_NANOS, _PROFILE_DURATION_NANOS, _PROFILE_PERIOD_TYPE, _PROFILE_PERIOD = 9, 10, 11, 12
_PROFILE_COMMENT, _PROFILE_DEFAULT_SAMPLE_TYPE = 13, 14
_VALUE_TYPE_TYPE, _VALUE_TYPE_UNIT = 1, 2
_SAMPLE_LOCATION_ID, _SAMPLE_VALUE = 1, 2
_MAPPING_ID, _MAPPING_FILENAME = 1, 5
_MAPPING_HAS_FUNCTIONS, _MAPPING_HAS_FILENAMES, _MAPPING_HAS_LINE_NUMBERS = 7, 8, 9
_LOCATION_ID, _LOCATION_MAPPING_ID, _LOCATION_LINE = 1, 2, 4
_LINE_FUNCTION_ID, _LINE_LINE = 1, 2
_FUNCTION_ID, _FUNCTION_NAME, _FUNCTION_SYSTEM_NAME = 1, 2, 3
_FUNCTION_FILENAME, _FUNCTION_START_LINE = 4, 5


class _Strings:
    """The profile's string table: every string once, ``""`` at index 0 as required."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {"": 0}

    def __call__(self, text: str) -> int:
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.index)
        return found


def pprof_profile(merged: MergedStacks) -> bytes:
    """The serialized ``perftools.profiles.Profile`` message, not yet gzipped."""
    strings = _Strings()
    profile = MessageWriter()
    for kind, unit in SAMPLE_TYPES:
        profile.message(_PROFILE_SAMPLE_TYPE, _value_type(strings(kind), strings(unit)))

    stacks = merged.sorted_stacks()
    nanoseconds = apportion([weight.seconds for _, weight in stacks], 1e9)
    location_ids: dict[int, int] = {}  # frame id -> location id (= function id)
    for (stack, weight), wall_ns in zip(stacks, nanoseconds, strict=True):
        ids = []
        for frame in reversed(stack):  # pprof lists the leaf first
            location = location_ids.get(frame)
            if location is None:
                location = location_ids[frame] = len(location_ids) + 1
            ids.append(location)
        sample = MessageWriter()
        sample.packed(_SAMPLE_LOCATION_ID, ids)
        sample.packed(_SAMPLE_VALUE, [weight.samples, wall_ns])
        profile.message(_PROFILE_SAMPLE, sample)

    mapping = MessageWriter()
    mapping.varint(_MAPPING_ID, MAPPING_ID)
    mapping.varint(_MAPPING_FILENAME, strings("python"))
    for flag in (_MAPPING_HAS_FUNCTIONS, _MAPPING_HAS_FILENAMES, _MAPPING_HAS_LINE_NUMBERS):
        mapping.varint(flag, True)
    profile.message(_PROFILE_MAPPING, mapping)

    frames = merged.frames
    for frame, location_id in location_ids.items():
        profile.message(_PROFILE_LOCATION, _location(location_id, frames[frame].line))
    for frame, function_id in location_ids.items():
        profile.message(_PROFILE_FUNCTION, _function(function_id, frames[frame], strings))

    profile.varint(_PROFILE_TIME_NANOS, round((merged.started_at or 0.0) * 1e9))
    profile.varint(_PROFILE_DURATION_NANOS, round(merged.duration_s * 1e9))
    profile.message(_PROFILE_PERIOD_TYPE, _value_type(strings("wall"), strings("nanoseconds")))
    profile.varint(_PROFILE_PERIOD, round((merged.interval_s or DEFAULT_INTERVAL_S) * 1e9))
    comment = f"profiler-kit {__version__}: {merged.describe()}"
    profile.packed(_PROFILE_COMMENT, [strings(comment)])
    profile.varint(_PROFILE_DEFAULT_SAMPLE_TYPE, strings("wall"))
    for text in strings.index:  # insertion order is index order
        profile.string(_PROFILE_STRING_TABLE, text)
    return profile.getvalue()


def _value_type(kind: int, unit: int) -> MessageWriter:
    message = MessageWriter()
    message.varint(_VALUE_TYPE_TYPE, kind)
    message.varint(_VALUE_TYPE_UNIT, unit)
    return message


def _location(location_id: int, line: int) -> MessageWriter:
    line_message = MessageWriter()
    line_message.varint(_LINE_FUNCTION_ID, location_id)
    line_message.varint(_LINE_LINE, line)
    location = MessageWriter()
    location.varint(_LOCATION_ID, location_id)
    location.varint(_LOCATION_MAPPING_ID, MAPPING_ID)
    location.message(_LOCATION_LINE, line_message)
    return location


def _function(function_id: int, frame: FrameInfo, strings: _Strings) -> MessageWriter:
    function = MessageWriter()
    function.varint(_FUNCTION_ID, function_id)
    function.varint(_FUNCTION_NAME, strings(frame.name))
    function.varint(_FUNCTION_SYSTEM_NAME, strings(frame.name))
    function.varint(_FUNCTION_FILENAME, strings(frame.file))
    function.varint(_FUNCTION_START_LINE, frame.line)
    return function


def render_pprof(merged: MergedStacks) -> bytes:
    """The ``.pb.gz`` file's bytes; the gzip header has no timestamp, so the same
    captures always give the same bytes."""
    return gzip.compress(pprof_profile(merged), compresslevel=6, mtime=0)
