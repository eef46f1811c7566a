"""The pieces under the formats: the protobuf wire encoder and integer apportioning."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profiler_kit.export.protowire import MessageWriter, encode_varint
from profiler_kit.export.stacks import apportion


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (150, b"\x96\x01"),  # the protobuf documentation's example
        (2**63 - 1, b"\xff" * 8 + b"\x7f"),
        (-1, b"\xff" * 9 + b"\x01"),  # int64 -1: ten bytes of two's complement
    ],
)
def test_varints(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded


def test_varint_range() -> None:
    with pytest.raises(ValueError, match="64 bits"):
        encode_varint(2**64)


def test_messages_parse_with_protobuf(profile_pb2: Any) -> None:
    """What MessageWriter writes, the protobuf runtime reads as the same values."""
    line = MessageWriter()
    line.varint(1, 7)
    line.varint(2, -3)  # a negative int64
    location = MessageWriter()
    location.varint(1, 2**40)
    location.message(4, line)
    sample = MessageWriter()
    sample.packed(1, [1, 300, 2**63])
    sample.packed(2, [0, -5, 1_000_000_000_000])
    profile = MessageWriter()
    profile.message(2, sample)
    profile.message(4, location)
    for text in ("", "naïve;\n", "\ud800"):
        profile.string(6, text)
    parsed = profile_pb2.Profile()
    parsed.ParseFromString(profile.getvalue())
    assert list(parsed.sample[0].location_id) == [1, 300, 2**63]
    assert list(parsed.sample[0].value) == [0, -5, 1_000_000_000_000]
    assert parsed.location[0].id == 2**40
    assert (parsed.location[0].line[0].function_id, parsed.location[0].line[0].line) == (7, -3)
    assert list(parsed.string_table) == ["", "naïve;\n", "?"]


@given(st.lists(st.floats(min_value=0, max_value=10, allow_nan=False), max_size=60))
def test_apportion_keeps_the_total(values: list[float]) -> None:
    for scale in (1e6, 1e9):
        out = apportion(values, scale)
        assert abs(sum(out) - sum(values) * scale) <= 0.5 + 1e-9 * sum(values) * scale
        pairs = zip(out, values, strict=True)
        assert all(abs(o - v * scale) <= 1 + 1e-9 * v * scale for o, v in pairs)
        assert all(o >= 0 for o in out)
