"""Errors that carry a message meant for the person at the terminal.

The CLI prints these without a traceback and exits non-zero; anything else
that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "ProfilerKitError",
    "StoreError",
    "StoreCorruptError",
    "StoreVersionError",
    "CaptureNotFoundError",
    "TargetError",
    "MemoryUnavailableError",
    "MemoryBusyError",
]


class ProfilerKitError(Exception):
    """Base class: ``str(error)`` is a complete, actionable message."""

    exit_code = 2


class StoreError(ProfilerKitError):
    """The capture store cannot be opened, read or written."""


class StoreCorruptError(StoreError):
    """The file is not a readable profiler-kit store."""


class StoreVersionError(StoreError):
    """The store was written by a newer profiler-kit than this one."""


class CaptureNotFoundError(ProfilerKitError):
    """No capture matches what was asked for."""


class TargetError(ProfilerKitError):
    """The script or module to profile cannot be found or started."""


class MemoryUnavailableError(ProfilerKitError):
    """memray cannot be used on this machine or in this process."""


class MemoryBusyError(MemoryUnavailableError):
    """memray is tracking another capture in this process (one tracker at a time)."""
