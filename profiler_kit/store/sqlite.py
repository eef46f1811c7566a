"""The embedded capture store: one SQLite file in WAL mode.

WAL lets many worker processes append while a reporter reads, with no server
to run. The file identifies itself (SQLite's ``application_id``) and records
its schema version (``user_version``), so a foreign or newer file is refused
with a message instead of being misread or damaged. Every SQLite failure is
translated into a :class:`~profiler_kit.errors.StoreError` naming the path.
"""

from __future__ import annotations

import contextlib
import json
import math
import operator
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from profiler_kit import __version__
from profiler_kit.errors import (
    CaptureNotFoundError,
    StoreCorruptError,
    StoreError,
    StoreVersionError,
)
from profiler_kit.store import safejson
from profiler_kit.store.record import Capture

__all__ = ["SCHEMA_VERSION", "CaptureSummary", "Selection", "Store", "open_store"]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x504B4954  # "PKIT"
BUSY_TIMEOUT_S = 30.0

_COLUMNS = (
    "id", "kind", "service", "host", "pid", "started_at", "wall_s", "cpu_s", "reason",
    "target", "method", "route", "path", "status", "exit_code", "trace_id", "span_id",
    "peak_memory", "allocated_bytes", "allocations", "cpu_profile", "memory_profile", "extra",
)  # fmt: skip
_SUMMARY_COLUMNS = tuple(c for c in _COLUMNS if c not in ("cpu_profile", "memory_profile"))
# Column lists are constants of this module, never user input.
_SELECT_ALL = f"SELECT {', '.join(_COLUMNS)} FROM captures"  # noqa: S608
_SELECT_SUMMARY = f"SELECT {', '.join(_SUMMARY_COLUMNS)} FROM captures"  # noqa: S608
_INSERT = (
    f"INSERT OR IGNORE INTO captures ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS captures (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    service TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at REAL NOT NULL,
    wall_s REAL NOT NULL,
    cpu_s REAL NOT NULL,
    reason TEXT NOT NULL,
    target TEXT NOT NULL,
    method TEXT,
    route TEXT,
    path TEXT,
    status INTEGER,
    exit_code INTEGER,
    trace_id TEXT,
    span_id TEXT,
    peak_memory INTEGER,
    allocated_bytes INTEGER,
    allocations INTEGER,
    cpu_profile BLOB,
    memory_profile BLOB,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS captures_started_at ON captures (started_at);
CREATE INDEX IF NOT EXISTS captures_route ON captures (route, started_at);
"""


@dataclass(frozen=True)
class Selection:
    """Which captures to read: all given conditions must hold.

    ``route`` is a shell pattern matched against the route template, the
    path, and the target (``GET /items/{id}``).
    """

    route: str | None = None
    since: float | None = None
    until: float | None = None
    service: str | None = None
    min_duration_s: float | None = None
    kind: str | None = None

    def sql(self) -> tuple[str, tuple[Any, ...]]:
        clauses: list[str] = []
        args: list[Any] = []
        if self.route:
            clauses.append("(route GLOB ? OR path GLOB ? OR target GLOB ?)")
            args += [self.route] * 3
        if self.since is not None:
            clauses.append("started_at >= ?")
            args.append(self.since)
        if self.until is not None:
            clauses.append("started_at < ?")
            args.append(self.until)
        if self.service:
            clauses.append("service = ?")
            args.append(self.service)
        if self.min_duration_s is not None:
            clauses.append("wall_s >= ?")
            args.append(self.min_duration_s)
        if self.kind:
            clauses.append("kind = ?")
            args.append(self.kind)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


@dataclass(frozen=True)
class CaptureSummary:
    """A capture without its profile payloads: cheap to list by the thousand."""

    id: str
    kind: str
    service: str
    host: str
    pid: int
    started_at: float
    wall_s: float
    cpu_s: float
    reason: str
    target: str
    method: str | None
    route: str | None
    path: str | None
    status: int | None
    exit_code: int | None
    trace_id: str | None
    span_id: str | None
    peak_memory: int | None
    allocated_bytes: int | None
    allocations: int | None
    extra: dict[str, Any]


class Store:
    """A profiler-kit store file. Not thread-safe: one connection, one thread."""

    def __init__(self, path: Path, *, create: bool = True, cache_kib: int | None = None) -> None:
        """``cache_kib`` caps SQLite's page cache for this connection (default 2 MiB).

        A long-lived writer touches every page of a store as it appends and
        retention deletes, so its cache fills to the cap and stays there: that
        is resident memory of the app being profiled.
        """
        self.path = Path(path)
        self._cache_kib = cache_kib
        if not create and not self.path.exists():
            raise StoreError(
                f"no capture store at {self.path}: profile something first "
                "(profiler-kit run script.py) or point --store / PROFILER_KIT_STORE at one"
            )
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a capture store file")
        if create:
            try:
                # Captures name the code's functions and files: private to the
                # user by default (a directory made here is 0700, a file 0600;
                # SQLite gives its -wal and -shm files the same mode).
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                if not self.path.exists():
                    os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as error:
                raise StoreError(f"cannot create {self.path}: {error.strerror}") from error
        with self._translate_errors():
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            # What was opened: a writer compares it with the path later, to notice
            # a store deleted or replaced while the app runs.
            self.file_stat = self.path.stat()
        except OSError:
            self._db.close()
            raise
        try:
            with self._translate_errors():
                self._prepare(create)
        except BaseException:
            self._db.close()
            raise

    # -- opening -------------------------------------------------------------

    def _prepare(self, create: bool) -> None:
        db = self._db
        # In WAL mode, NORMAL never corrupts the file; a power cut may lose the
        # last commits, which for profiles is the right trade for fewer fsyncs.
        db.execute("PRAGMA synchronous=NORMAL")
        if self._cache_kib is not None:
            db.execute(f"PRAGMA cache_size=-{int(self._cache_kib)}")  # negative: KiB, not pages
        if self._identify() == "ours":
            self._enable_wal()
            return
        if not create:
            raise StoreCorruptError(f"{self.path} is empty, not a profiler-kit store")
        # Several workers may start on a new file at once: decide and initialise
        # under the write lock, so exactly one of them creates the schema.
        db.execute("BEGIN IMMEDIATE")
        try:
            if self._identify() == "empty":
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('created_by', ?)",
                    (__version__,),
                )
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._enable_wal()

    def _identify(self) -> str:
        """``ours``, ``empty``, or an error for a foreign or newer file.

        Reads the header fields and the table list in one transaction, so a
        file initialised by another process meanwhile is seen whole or not at all.
        """
        db = self._db
        own_transaction = not db.in_transaction
        if own_transaction:
            db.execute("BEGIN")
        try:
            application_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            has_tables = self._has_tables()
        finally:
            if own_transaction:
                db.execute("COMMIT")
        if application_id not in (0, APPLICATION_ID) or (application_id == 0 and has_tables):
            raise StoreCorruptError(
                f"{self.path} is an SQLite database but not a profiler-kit store; "
                "choose another path with --store"
            )
        self._check_version(version)
        return "ours" if application_id == APPLICATION_ID and version == SCHEMA_VERSION else "empty"

    def _enable_wal(self) -> None:
        """Switch to WAL; retried, since the switch does not wait on busy locks."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL").fetchone()
                # Keep the write-ahead log small: checkpoint every 1 MiB and
                # truncate it back to 1 MiB, so a store needs about that much
                # disk beyond its retention bound (SQLite's default is 4 MiB).
                self._db.execute("PRAGMA wal_autocheckpoint=256")
                self._db.execute("PRAGMA journal_size_limit=1048576")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _has_tables(self) -> bool:
        row = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return bool(row[0])

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            writer = self._meta("created_by")
            needed = f"'profiler-kit>={writer}'" if writer else "profiler-kit"
            raise StoreVersionError(
                f"{self.path} uses store schema {version}, but profiler-kit {__version__} "
                f"reads schema {SCHEMA_VERSION} at most; upgrade with pip install -U {needed}"
            )

    def _meta(self, key: str) -> str | None:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return str(row[0]) if row else None

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as error:
            message = str(error)
            if "not a database" in message or "malformed" in message:
                raise StoreCorruptError(
                    f"{self.path} is corrupt or not a profiler-kit store ({message}); "
                    "move it aside and profile again, or restore it from a copy"
                ) from error
            if "locked" in message or "busy" in message:
                raise StoreError(
                    f"{self.path} stayed locked by another process for {BUSY_TIMEOUT_S:.0f} s"
                ) from error
            raise StoreError(f"cannot use capture store {self.path}: {message}") from error
        except sqlite3.Error as error:
            raise StoreError(f"cannot use capture store {self.path}: {error}") from error
        except OSError as error:
            raise StoreError(f"cannot use capture store {self.path}: {error}") from error
        except UnicodeDecodeError as error:  # SQLite quoting damaged schema text back at us
            raise StoreCorruptError(
                f"{self.path} is corrupt (damaged text in its schema: {error.reason}); "
                "move it aside and profile again, or restore it from a copy"
            ) from error

    # -- writing -------------------------------------------------------------

    def add(self, capture: Capture) -> None:
        """Append one capture; a capture whose id is already stored is ignored."""
        self.add_many([capture])

    def add_many(self, captures: list[Capture]) -> int:
        """Append captures in one transaction; returns how many were new."""
        with self._translate_errors():
            before = self._db.total_changes
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(_INSERT, [_row(capture) for capture in captures])
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return self._db.total_changes - before

    def enforce_retention(self, max_captures: int, max_bytes: int) -> int:
        """Drop the oldest captures beyond ``max_captures`` or ``max_bytes``.

        Size is the pages in use (freed pages are reused, so the file stops
        growing once retention holds). Returns how many captures were removed.
        """
        with self._translate_errors():
            count = self.count()
            excess = max(count - max_captures, 0) if max_captures else 0
            if max_bytes:
                page_size, pages, free = (
                    self._db.execute(f"PRAGMA {name}").fetchone()[0]
                    for name in ("page_size", "page_count", "freelist_count")
                )
                if (pages - free) * page_size > max_bytes and count:
                    excess = max(excess, count // 10 or 1)
            if not excess:
                return 0
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    # Oldest written first (rowid), not oldest by clock: after the
                    # wall clock steps back, new captures would look oldest.
                    "DELETE FROM captures WHERE rowid IN "
                    "(SELECT rowid FROM captures ORDER BY rowid LIMIT ?)",
                    (excess,),
                )
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return excess

    # -- reading -------------------------------------------------------------

    def get(self, capture_id: str) -> Capture:
        """The capture with this id, or the only one whose id starts with it."""
        with self._translate_errors():
            rows = self._db.execute(
                _SELECT_ALL + " WHERE id >= ? AND id < ? LIMIT 2",
                (capture_id.upper(), capture_id.upper() + "\x7f"),
            ).fetchall()
        if not rows:
            raise CaptureNotFoundError(
                f"no capture {capture_id!r} in {self.path}; `profiler-kit ls` lists them"
            )
        if len(rows) > 1 and rows[0][0] != capture_id.upper():
            raise CaptureNotFoundError(
                f"{capture_id!r} matches several captures in {self.path}; give more characters"
            )
        return _capture(rows[0])

    def latest(self, kind: str | None = None) -> Capture:
        """The most recently started capture (optionally of one kind)."""
        where, args = (" WHERE kind = ?", (kind,)) if kind else ("", ())
        with self._translate_errors():
            row = self._db.execute(
                _SELECT_ALL + where + " ORDER BY started_at DESC, id DESC LIMIT 1",
                args,
            ).fetchone()
        if row is None:
            raise CaptureNotFoundError(
                f"{self.path} holds no captures yet: profile something first "
                "(profiler-kit run script.py)"
            )
        return _capture(row)

    def summaries(self, limit: int | None = None) -> list[CaptureSummary]:
        """Captures without payloads, newest first."""
        sql = _SELECT_SUMMARY + " ORDER BY started_at DESC, id DESC"
        with self._translate_errors():
            if limit is not None:
                rows = self._db.execute(sql + " LIMIT ?", (limit,)).fetchall()
            else:
                rows = self._db.execute(sql).fetchall()
        return [
            CaptureSummary(**_sanitized(dict(zip(_SUMMARY_COLUMNS, row, strict=True))))
            for row in rows
        ]

    def iter_captures(
        self, selection: Selection | None = None, *, batch: int = 256
    ) -> Iterator[Capture]:
        """Matching captures, oldest first, read in batches (never all at once)."""
        where, args = (selection or Selection()).sql()
        with self._translate_errors():
            cursor = self._db.execute(_SELECT_ALL + where + " ORDER BY started_at, id", args)
            while rows := cursor.fetchmany(batch):
                yield from (_capture(row) for row in rows)

    def count_matching(self, selection: Selection | None = None) -> int:
        where, args = (selection or Selection()).sql()
        with self._translate_errors():
            # Only placeholders and fixed column names: values travel as parameters.
            sql = "SELECT count(*) FROM captures" + where  # noqa: S608
            row = self._db.execute(sql, args).fetchone()
        return int(row[0])

    def count(self) -> int:
        with self._translate_errors():
            return int(self._db.execute("SELECT count(*) FROM captures").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_store(path: Path | str, *, create: bool = True, cache_kib: int | None = None) -> Store:
    """Open (and with ``create``, initialise) the store at ``path``."""
    return Store(Path(path), create=create, cache_kib=cache_kib)


_column_values = operator.attrgetter(*_COLUMNS[:-1])


def _row(capture: Capture) -> tuple[Any, ...]:
    values = _column_values(capture)
    for value in values:
        if isinstance(value, str) and not value.isascii():
            values = tuple(_storable(value) for value in values)
            break
    return (*values, json.dumps(capture.extra, separators=(",", ":"), default=str))


def _storable(value: Any) -> Any:
    """Text SQLite can hold: a lone surrogate (a non-UTF-8 file name or URL) is escaped."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


_NUMERIC = {"started_at": float, "wall_s": float, "cpu_s": float}


def _capture(row: tuple[Any, ...]) -> Capture:
    return Capture(**_sanitized(dict(zip(_COLUMNS, row, strict=True))))


def _sanitized(values: dict[str, Any]) -> dict[str, Any]:
    """A row's values, damaged fields replaced and named in ``extra["damaged"]``.

    A damaged or foreign row must not stop ``ls``, reports or exports of the
    others; the damage stays visible instead of being silently repaired.
    """
    values["extra"] = _json(values["extra"])
    damaged: list[str] = []
    for name in _NUMERIC:
        value = values[name]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or abs(value) > 1e12:
            values[name], damaged = 0.0, [*damaged, name]
    for name in ("status", "exit_code", "pid", "peak_memory", "allocated_bytes", "allocations"):
        value = values[name]
        if value is not None and (type(value) is not int or abs(value) > 2**62):
            values[name], damaged = None, [*damaged, name]
    for name in ("id", "kind", "service", "host", "reason", "target"):
        if not isinstance(values[name], str):
            values[name], damaged = str(values[name]), [*damaged, name]
    for name in ("method", "route", "path", "trace_id", "span_id"):
        # SQLite keeps whatever was stored in a TEXT column: a BLOB there
        # reached json.dumps in ls --json and the reports.
        value = values[name]
        if value is not None and not isinstance(value, str):
            values[name], damaged = None, [*damaged, name]
    if values["pid"] is None:
        values["pid"] = 0
    if damaged:
        values["extra"]["damaged"] = damaged
    return values


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = safejson.loads(text or "{}")
    except ValueError:
        return {"damaged": ["extra"]}
    return value if isinstance(value, dict) else {"damaged": ["extra"]}
