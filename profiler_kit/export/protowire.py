"""A small protocol-buffers wire-format encoder: enough to write ``profile.proto``.

Writing pprof needs only varints, length-delimited fields (strings and
embedded messages) and packed repeated integers; a dozen lines do that. The
protobuf runtime is installed anyway (the OTLP exporters need it), but
writing pprof through it would mean shipping code generated from
``profile.proto``, and generated code runs only on a protobuf runtime of the
same major version and no older than the generator, while the OpenTelemetry
packages decide which protobuf an install gets. Generated code
would tie the project to one protobuf version; the wire format is stable,
so this encoder works with any. The encoding follows
https://protobuf.dev/programming-guides/encoding/.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MessageWriter", "encode_varint"]

VARINT = 0
LEN = 2
_UINT64 = (1 << 64) - 1


def encode_varint(value: int) -> bytes:
    """Base-128 varint; a negative int64 is written as its 64-bit two's complement
    (ten bytes), as protobuf does."""
    if value < 0:
        value &= _UINT64
    elif value > _UINT64:
        raise ValueError(f"{value} does not fit in 64 bits")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class MessageWriter:
    """Appends the fields of one message, in the order they are written.

    Scalar fields equal to zero are left out, as proto3 does for defaults;
    repeated elements are always written, zero or empty included, since their
    position counts (``string_table[0]`` is the empty string).
    """

    def __init__(self) -> None:
        self._out = bytearray()

    def _key(self, number: int, wire_type: int) -> None:
        self._out += encode_varint(number << 3 | wire_type)

    def varint(self, number: int, value: int | bool) -> None:
        """An int32/int64/uint64/bool field; skipped when zero."""
        if value:
            self._key(number, VARINT)
            self._out += encode_varint(int(value))

    def length_delimited(self, number: int, data: bytes) -> None:
        """A bytes, string or embedded-message field, written even when empty."""
        self._key(number, LEN)
        self._out += encode_varint(len(data))
        self._out += data

    def string(self, number: int, text: str) -> None:
        """One element of a repeated string (written even when empty)."""
        self.length_delimited(number, text.encode("utf-8", "replace"))

    def message(self, number: int, message: MessageWriter) -> None:
        """An embedded message (one element when the field is repeated)."""
        self.length_delimited(number, message.getvalue())

    def packed(self, number: int, values: Iterable[int]) -> None:
        """A packed repeated integer field; skipped when there are no values."""
        payload = b"".join(encode_varint(value) for value in values)
        if payload:
            self.length_delimited(number, payload)

    def getvalue(self) -> bytes:
        return bytes(self._out)
