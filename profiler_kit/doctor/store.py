"""Whether captures can be written, without writing any.

The store's directory is tried with a temporary file (and temporary
directories when it does not exist yet), all removed again; an existing store
is only opened to count its captures.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from profiler_kit.doctor.results import Check
from profiler_kit.errors import StoreCorruptError, StoreError, StoreVersionError
from profiler_kit.units import counted, format_bytes

__all__ = ["check_store"]


def check_store(path: Path, *, source: str = "default") -> list[Check]:
    """The store's directory is writable; an existing store opens and is private."""
    path = path.absolute()
    directory_check = _check_store_directory(path, source)
    checks = [directory_check]
    if directory_check.status == "fail":
        return checks
    file_check = _check_store_file(path)
    checks.append(file_check)
    if file_check.status == "ok" and os.name == "posix":
        checks.append(_check_store_permissions(path))
    return checks


def _check_store_directory(path: Path, source: str) -> Check:
    directory = path.parent
    origin = "default path, relative to the current directory" if source == "default" else source
    where = f"store {path} ({origin})"
    details = {"path": str(path), "directory": str(directory), "source": source}
    move = "point --store or PROFILER_KIT_STORE at a path in a directory the app's user can write"
    try:
        if path.is_dir():
            return Check(
                "store.directory",
                "fail",
                f"{path} is a directory, not a capture store file",
                fix=f"give a file path, e.g. {path / 'captures.sqlite3'}",
                details=details,
            )
        missing: list[Path] = []
        existing = directory
        while not existing.exists():
            missing.append(existing)
            existing = existing.parent
        if not existing.is_dir():
            return Check(
                "store.directory",
                "fail",
                f"{where}: cannot create {directory}: {existing} is a file, not a directory",
                fix=move,
                details=details,
            )
    except OSError as error:
        return Check(
            "store.directory",
            "fail",
            f"{where}: cannot look at {directory}: {error.strerror or error}",
            fix=move,
            details=details,
        )
    created: list[Path] = []
    try:
        for missing_directory in reversed(missing):
            missing_directory.mkdir()
            created.append(missing_directory)
        handle, probe = tempfile.mkstemp(prefix=".profiler-kit-doctor-", dir=directory)
        os.close(handle)
        Path(probe).unlink()
    except OSError as error:
        action = f"create {directory}" if len(created) < len(missing) else f"write in {directory}"
        return Check(
            "store.directory",
            "fail",
            f"{where}: cannot {action}: {error.strerror or error}",
            fix=move,
            details=details,
        )
    finally:
        for created_directory in reversed(created):
            with contextlib.suppress(OSError):
                created_directory.rmdir()
    state = "exists and is writable" if not missing else "does not exist yet and can be created"
    return Check("store.directory", "ok", f"{where}: {directory} {state}", details=details)


def _check_store_file(path: Path) -> Check:
    from profiler_kit.store import open_store

    if not path.exists():
        return Check(
            "store.file",
            "info",
            f"no store at {path} yet: it is created with the first capture",
            details={"exists": False},
        )
    if path.is_file() and path.stat().st_size == 0:
        return Check(
            "store.file",
            "info",
            f"{path} is an empty file: the first capture makes it a store",
            details={"exists": True, "captures": 0, "bytes": 0},
        )
    try:
        with open_store(path, create=False) as store:
            count = store.count()
    except StoreError as error:
        if isinstance(error, StoreVersionError):
            fix = "upgrade profiler-kit as the message says, or point --store elsewhere"
        elif isinstance(error, StoreCorruptError):
            fix = "move the file aside (a new store starts in its place) or point --store elsewhere"
        else:
            fix = "check the file's permissions and free disk space, or point --store elsewhere"
        return Check("store.file", "fail", str(error), fix=fix, details={"exists": True})
    size = path.stat().st_size
    details: dict[str, Any] = {"exists": True, "captures": count, "bytes": size}
    if not os.access(path, os.W_OK):
        return Check(
            "store.file",
            "fail",
            f"{path} opens ({counted(count, 'capture')}) but this user cannot write to it",
            fix="run the app as the file's owner, or chmod u+w it",
            details=details,
        )
    summary = f"{path}: {counted(count, 'capture')}, {format_bytes(size)}"
    return Check("store.file", "ok", summary, details=details)


def _check_store_permissions(path: Path) -> Check:
    mode = stat.S_IMODE(path.stat().st_mode)
    directory_mode = stat.S_IMODE(path.parent.stat().st_mode)
    details = {"mode": f"{mode:04o}", "directory_mode": f"{directory_mode:04o}"}
    if mode & stat.S_IROTH and directory_mode & stat.S_IXOTH:
        return Check(
            "store.permissions",
            "warn",
            f"{path} is readable by every user of this machine (mode {mode:04o}, "
            f"directory {directory_mode:04o}); captures hold function names, file paths "
            "and URL paths",
            fix=f"chmod 700 {path.parent} (a directory only the app's user can enter), "
            f"or chmod 600 {path} and its -wal/-shm files",
            details=details,
        )
    return Check(
        "store.permissions",
        "ok",
        f"{path} is not readable by other users (mode {mode:04o}, directory {directory_mode:04o})",
        details=details,
    )
