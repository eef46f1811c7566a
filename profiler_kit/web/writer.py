"""The background writer: everything slow happens here, off the request path.

Requests hand over a *builder*, a function that turns raw profiler output
into a :class:`~profiler_kit.store.record.Capture` (encoding a pyinstrument
session, summarising a memray file). A single daemon thread runs builders
and appends captures to the store in batches. The queue is bounded: when it
is full a capture is dropped and counted, never waited for. A forked worker
gets a fresh queue and thread of its own on first use.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from profiler_kit.errors import StoreError
from profiler_kit.store import Store, open_store
from profiler_kit.store.record import Capture
from profiler_kit.web.counters import Stats

__all__ = ["BackgroundWriter", "writer_for"]

Builder = Callable[[], Capture | None]  # None: nothing to store (live-only spans)
BATCH = 64
BATCH_WAIT_S = 0.05
RETENTION_EVERY = 32
# SQLite's page cache on the writer's connection. The default (2 MiB) fills as
# the store is appended to and trimmed, and stays resident in the app: measured
# in-process, 0 -> 2.07 MiB over 2,000 captures. Writes append and delete the
# oldest rows, so few pages are worth caching; the OS caches the file anyway.
WRITER_CACHE_KIB = 256


class BackgroundWriter:
    def __init__(
        self,
        store_path: Path,
        stats: Stats,
        *,
        queue_size: int = 256,
        max_captures: int = 10_000,
        max_bytes: int = 512 * 1024 * 1024,
    ) -> None:
        self.store_path = Path(store_path)
        self.stats = stats
        self.queue_size = queue_size
        self.max_captures = max_captures
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._pid = -1
        self._queue: queue.Queue[Builder | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._writes_since_retention = 0
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._batching = threading.Event()  # never set: the writer's pause while a batch gathers

    # -- request side --------------------------------------------------------

    def submit(self, builder: Builder) -> bool:
        """Queue a capture; ``False`` (and a counter) if the queue is full."""
        self._ensure_thread()
        with self._lock:
            self._pending += 1
        try:
            self._queue.put_nowait(builder)
        except queue.Full:
            with self._lock:
                self._pending -= 1
                self._idle.notify_all()
            self.stats.incr("dropped.queue_full")
            self.stats.failure(
                "queueing a capture", QueueFullError(f"{self.queue_size} captures already waiting")
            )
            return False
        return True

    @property
    def active_pid(self) -> int:
        """The process whose thread writes for this writer (-1 before first use)."""
        return self._pid

    def depth(self) -> int:
        return self._queue.qsize()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued capture is written (or dropped); for tests and exit."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._pid == pid and self._thread is not None:
            return
        with self._lock:
            if self._pid == pid and self._thread is not None:
                return
            if self._pid != -1 and self._pid != pid:
                # Forked after the parent started writing: that thread and its
                # queue are the parent's. Start afresh.
                self._queue = queue.Queue(maxsize=self.queue_size)
                self._pending = 0
                self._idle = threading.Condition(self._lock)
            self._pid = pid
            self._thread = threading.Thread(
                target=self._run, name="profiler-kit-writer", daemon=True
            )
            self._thread.start()

    # -- writer thread -------------------------------------------------------

    def _run(self) -> None:
        store: Store | None = None
        while True:
            builders = [self._queue.get()]
            # Under load, waiting a moment lets a batch gather: one transaction
            # (and one fsync-free WAL append) for many captures instead of one
            # each. The thread sleeps through that moment rather than waiting on
            # the queue, which would wake it (and take the GIL from the server)
            # for every capture queued meanwhile.
            if builders[0] is not None:
                # A wait on a lock, not time.sleep(), which raises EINVAL under
                # libfaketime with the monotonic clock left alone (tests/faults).
                self._batching.wait(BATCH_WAIT_S)
            while len(builders) < BATCH:
                try:
                    builders.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            captures = []
            for builder in builders:
                if builder is None:
                    continue
                try:
                    capture = builder()
                    if capture is not None:
                        captures.append(capture)
                except Exception as error:  # counted, never raised
                    self.stats.failure("building a capture", error)
            try:
                written = False
                if captures:
                    if store is not None and _replaced(store, self.store_path):
                        # Deleted or moved under us: writing on would fill an
                        # unlinked file nobody can read. Start a new store.
                        self.stats.failure(
                            "the capture store was deleted or replaced; reopening",
                            StoreError(str(self.store_path)),
                        )
                        store.close()
                        store = None
                    if store is None:
                        store = open_store(self.store_path, cache_kib=WRITER_CACHE_KIB)
                    store.add_many(captures)
                    written = True
                    self.stats.incr("captures.written", len(captures))
                    self._writes_since_retention += len(captures)
                    if self._writes_since_retention >= RETENTION_EVERY:
                        self._writes_since_retention = 0
                        self._enforce_retention(store)
            except Exception as error:  # whatever it is, the writer thread must live on
                if written:  # the batch is in; only the retention pass failed
                    self.stats.failure("enforcing store retention", error)
                else:
                    self.stats.incr("dropped.store_error", len(captures))
                    self.stats.failure("writing to the capture store", error)
                if store is not None:
                    store.close()
                    store = None
            finally:
                with self._lock:
                    self._pending -= len(builders)
                    self._idle.notify_all()

    def _enforce_retention(self, store: Store) -> None:
        removed = store.enforce_retention(self.max_captures, self.max_bytes)
        if removed:
            self.stats.incr("retention.removed", removed)


class QueueFullError(Exception):
    """The background queue is full: captures are dropped (and counted) until it drains."""


def _replaced(store: Store, path: Path) -> bool:
    """Whether the open store's file is no longer the one at ``path`` (deleted or swapped)."""
    try:
        return not os.path.samestat(path.stat(), store.file_stat)
    except OSError:
        return True


_writers: dict[tuple[int, Path], BackgroundWriter] = {}
_writers_lock = threading.Lock()


def writer_for(
    store_path: Path,
    stats: Stats,
    *,
    queue_size: int,
    max_captures: int,
    max_bytes: int,
) -> BackgroundWriter:
    """The process's writer for one store file (shared by every middleware)."""
    key = (os.getpid(), Path(store_path).absolute())
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None:
            writer = _writers[key] = BackgroundWriter(
                key[1],
                stats,
                queue_size=queue_size,
                max_captures=max_captures,
                max_bytes=max_bytes,
            )
        return writer


@atexit.register
def _flush_at_exit() -> None:
    """Give queued captures a moment to reach the store when a worker exits."""
    for writer in list(_writers.values()):
        # Keyed by the creating pid, but a writer made before a fork (gunicorn
        # --preload) serves the worker: flush whichever runs in this process.
        if writer.active_pid == os.getpid():
            writer.flush(timeout=5.0)
