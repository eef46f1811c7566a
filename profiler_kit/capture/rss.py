"""Resident memory of this process, cheap enough to read around a request."""

from __future__ import annotations

import os

__all__ = ["read_rss"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def read_rss() -> int | None:
    """Resident set size in bytes (Linux), or ``None`` where unknown."""
    try:
        with open("/proc/self/statm", "rb") as file:
            return int(file.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None
