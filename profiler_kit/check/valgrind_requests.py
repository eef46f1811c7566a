"""Valgrind client requests from Python: tell callgrind which instructions to count.

A program running under valgrind talks to it through a "client request": a
sequence of instructions that does nothing on a real CPU (four rotations of a
register by 128 bits in all, then ``xchg rbx, rbx``) and that valgrind
recognises while translating the code. C programs emit it with the macros of
``valgrind.h``; Python has no such macro, so this module puts the same nine
instructions into an executable page and calls them through ctypes. Only
x86-64 is supported (the sequence is architecture-specific).

Callgrind's requests used here: zero the counters, toggle collection around
the measured call, and dump the counters to a file named after the target.
That counts exactly the instructions of the call, not interpreter start-up,
imports or the target's set-up, which a difference of two whole runs would
leave to chance (a Flask request's count moved by 40 % that way).
"""

from __future__ import annotations

import ctypes
import mmap
import platform

__all__ = ["CallgrindControl", "supported"]

# mov rax, rdi            the argument block's address (valgrind reads it from rax)
# xor edx, edx            the default result, returned when not under valgrind
# rol rdi, 3/13/61/51     the preamble valgrind looks for (rdi ends unchanged)
# xchg rbx, rbx           "client request": rdx = request(rax)
# mov rax, rdx; ret
_X86_64_REQUEST = bytes.fromhex("4889f831d248c1c70348c1c70d48c1c73d48c1c7334887db4889d0c3")

_CALLGRIND_BASE = (ord("C") << 24) | (ord("T") << 16)
_DUMP_STATS_AT = _CALLGRIND_BASE + 3
_ZERO_STATS = _CALLGRIND_BASE + 1
_TOGGLE_COLLECT = _CALLGRIND_BASE + 2
_START_INSTRUMENTATION = _CALLGRIND_BASE + 4
_STOP_INSTRUMENTATION = _CALLGRIND_BASE + 5


def supported() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64")


class CallgrindControl:
    """Callgrind's client requests; each is a no-op when not running under valgrind."""

    def __init__(self) -> None:
        if not supported():
            raise OSError(f"valgrind client requests are not implemented for {platform.machine()}")
        self._page = mmap.mmap(
            -1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC
        )
        self._page.write(_X86_64_REQUEST)
        address = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        prototype = ctypes.CFUNCTYPE(ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong))
        self._call = prototype(address)

    def _request(self, code: int, argument: int = 0) -> int:
        block = (ctypes.c_ulong * 6)(code, argument, 0, 0, 0, 0)
        return int(self._call(block))

    def start_instrumentation(self) -> None:
        self._request(_START_INSTRUMENTATION)

    def stop_instrumentation(self) -> None:
        self._request(_STOP_INSTRUMENTATION)

    def zero(self) -> None:
        self._request(_ZERO_STATS)

    def toggle_collect(self) -> None:
        self._request(_TOGGLE_COLLECT)

    def dump(self, label: str) -> None:
        text = ctypes.create_string_buffer(label.encode("ascii", "replace"))
        self._request(_DUMP_STATS_AT, ctypes.addressof(text))
