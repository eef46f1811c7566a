"""One background thread that samples the stacks of other threads on demand.

pyinstrument samples through the interpreter's profile hook, which must be
installed by the thread being profiled, before the work starts, and which
memray also needs. This sampler reads ``sys._current_frames()`` from outside
instead, so it can

* start sampling a request that is already running (slow-request capture
  pays nothing until a request is actually slow),
* profile CPU while memray owns the profile hook,
* follow a request across threads (a threadpool hop) and, on an event loop,
  keep only the samples taken while the request's own task was running.

A single hub thread serves every target and exits when there is none; it is
restarted in a forked child on first use.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from profiler_kit.capture.gcwatch import pause_collector, resume_collector
from profiler_kit.capture.rss import read_rss

__all__ = [
    "SampleTarget",
    "SamplerHub",
    "frame_identifier",
    "hub",
    "AWAIT_FRAME",
    "identifiers_of",
    "raw_await_stack",
    "raw_stack_of",
]


# CPython 3.11 makes the frame object of a running function only when asked,
# and may run a garbage collection in the middle of making one: after it has
# read the frame it wraps, before it links the two. A collection can call
# finalizers, which can let go of the GIL, and the thread that owns the frame
# can then return from it; the new frame object is left pointing into freed
# stack memory (a segfault later, seen in soaks). sys._current_frames() also
# does this while holding the interpreter's thread-list lock, so a finalizer
# that waits for the GIL deadlocks against a thread that is exiting
# (python/cpython#106883). 3.12 runs collections only between bytecodes, 3.10
# made every frame object up front; 3.11 needs the collector paused while the
# hub reads other threads' frames.
_PAUSE_GC_WHILE_READING_FRAMES = sys.version_info[:2] == (3, 11)


def frame_identifier(frame: FrameType) -> str:
    """pyinstrument's frame string: ``name NUL file NUL firstline [SOH attrs]``.

    The class is taken from ``co_qualname`` (Python 3.11+) rather than from
    ``self`` in the frame's locals, which is unsafe to read from another thread.
    """
    return code_identifier(frame.f_code, frame.f_lineno)


def code_identifier(code: CodeType, lineno: int | None) -> str:
    """:func:`frame_identifier` from what was read off the frame."""
    identifier = f"{code.co_name}\x00{code.co_filename}\x00{code.co_firstlineno}"
    qualname: str = getattr(code, "co_qualname", code.co_name)
    owner, _, name = qualname.rpartition(".")
    if owner and name == code.co_name and not owner.endswith("<locals>"):
        identifier += f"\x01c{owner}"
    if lineno is not None:
        identifier += f"\x01l{lineno}"
    return identifier


RawStack = list[tuple[CodeType, "int | None"]]
"""Leaf-first (code object, line) pairs, as read off another thread's frames."""


def raw_stack_of(frame: FrameType | None) -> RawStack:
    """The code object and line of a frame and its callers, leaf first.

    The frame belongs to another thread, which runs on whenever this one
    gives up the GIL and may pop frames meanwhile. So each frame is touched
    only for its code object (held from then on) and its line, in a loop of a
    few bytecodes; the strings are built afterwards by :func:`identifiers_of`,
    from the code objects alone.
    """
    seen: RawStack = []
    append = seen.append
    while frame is not None:
        append((frame.f_code, frame.f_lineno))
        frame = frame.f_back
    return seen


def raw_await_stack(task: Any) -> RawStack:
    """Where a suspended task waits: its coroutine chain, leaf first.

    A task that is not running has no frames on its thread's stack; its
    coroutine holds its frame, and ``cr_await`` (``gi_yieldfrom`` for a
    generator, ``ag_await`` for an async generator) the one it awaits, down
    to the innermost await. Read under the GIL, on a suspended task, this is
    the stack pyinstrument's strict async mode records as ``[await]`` time.
    """
    chain: RawStack = []
    coro = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None)
        inner = getattr(coro, "cr_await", None) if frame is not None else None
        if frame is None:
            frame = getattr(coro, "gi_frame", None)
            if frame is not None:
                inner = coro.gi_yieldfrom
            else:
                frame = getattr(coro, "ag_frame", None)
                if frame is None:
                    break
                inner = coro.ag_await
        chain.append((frame.f_code, frame.f_lineno))
        coro = inner
    chain.reverse()
    return chain


AWAIT_FRAME = "[await]"
"""The leaf of a sample taken while the request's task waited (pyinstrument's own name)."""

_IDENTIFIER_CACHE_LIMIT = 20_000


class _Identifiers:
    """Frame identifiers by (code object, line), built once and reused.

    Building the string costs an f-string and a ``rpartition`` per frame, a
    few microseconds per sample at a web framework's stack depth, paid on the
    server's own core. Keys are the code object's ``id()``: the entry holds
    the code object itself, so the id cannot be reused while it is cached.
    The cache is dropped whole when it reaches its limit (code made at run
    time, ``exec`` or lambdas in a loop, cannot grow it without bound).
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int | None], tuple[CodeType, str]] = {}

    def __call__(self, raw: RawStack) -> list[str]:
        """Root-first frame identifiers of a :func:`raw_stack_of` result."""
        cache = self._cache
        if len(cache) > _IDENTIFIER_CACHE_LIMIT:
            cache.clear()
        out: list[str] = []
        append = out.append
        for code, lineno in reversed(raw):
            entry = cache.get((id(code), lineno))
            if entry is None:
                entry = cache[(id(code), lineno)] = (code, code_identifier(code, lineno))
            append(entry[1])
        return out


identifiers_of = _Identifiers()


def _runs_for(task: Any, target: SampleTarget) -> bool:
    """Whether ``task`` is a child of the target's task (its context says it is the target's)."""
    from profiler_kit.capture.tasks import task_context

    context = task_context(task)
    return context is not None and context.get(target.context_var) is target


def _running_task_reader() -> Callable[[Any], Any]:
    """:func:`profiler_kit.capture.tasks.running_task`, imported when first needed.

    Only a target on an event loop has a task, so asyncio is loaded by then;
    ``profiler-kit run`` never pays for importing it through the sampler.
    """
    from profiler_kit.capture.tasks import running_task

    return running_task


class SampleTarget:
    """What to sample: a thread (and its helpers), from ``start_at`` on.

    With ``loop`` and ``task`` set, a sample of ``thread_id`` counts only while
    that task is the loop's running task; samples of other tasks are counted
    in ``foreign_samples`` so a report can say how busy the loop was.

    One is made for every watched request, so defaults are class attributes
    and ``__init__`` sets only what differs; ``helper_threads`` is a frozenset,
    replaced (never changed in place) by whoever adds a thread. A target whose
    ``start_at`` is infinite is registered but never sampled; ``records``
    exists once the hub has begun sampling (``began_at`` set).
    """

    loop: Any = None
    task: Any = None
    # A context variable that holds the target in its task's context (and so in
    # its child tasks'): samples of those count as the target's too.
    context_var: Any = None
    helper_threads: frozenset[int] = frozenset()
    foreign_samples = 0
    start_at = math.inf
    began_at: float | None = None
    rss_at_begin: int | None = None
    records: list[tuple[list[str], float]]
    _last = 0.0

    def __init__(self, thread_id: int, start_at: float, loop: Any = None, task: Any = None) -> None:
        self.thread_id = thread_id
        self.start_at = start_at
        if loop is not None:
            self.loop, self.task = loop, task
        self.records = []

    def sample_from_now(self, interval: float) -> None:
        """Have the hub sample this target from its first line, one ``interval`` from now.

        Set before the target is registered: the hub's first look then takes
        a sample (weighted from now) instead of only noting when sampling
        began, and :meth:`SamplerHub.add` wakes the hub only if it sleeps
        longer than one interval.
        """
        now = time.perf_counter()
        self.records = []
        self.began_at = self._last = now
        self.start_at = now + interval

    @property
    def sampled(self) -> bool:
        """Whether the hub samples this target (now or once ``start_at`` comes)."""
        return self.start_at < math.inf


class _Signal:
    """A wake-up call for the hub thread: ``threading.Event`` without its Condition.

    The hub waits between samples up to a thousand times a second on the
    server's core; ``Event.wait`` allocates a lock and runs a dozen lines of
    Python each time. This is one lock, held while no wake-up is pending:
    :meth:`signal` releases it, :meth:`wait` takes it back (and so clears it).
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def signal(self) -> None:
        try:  # noqa: SIM105 - contextlib.suppress costs a microsecond, on every request's add()
            self._lock.release()
        except RuntimeError:
            pass  # signalled already

    def clear(self) -> None:
        self._lock.acquire(blocking=False)

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True if :meth:`signal` ended the wait."""
        return self._lock.acquire(timeout=timeout)


class SamplerHub:
    """Samples every registered :class:`SampleTarget` every ``interval`` seconds.

    Targets are registered under a key: a request served on its own thread
    under that thread's id (which also makes the registry the record of what
    each thread is serving: :meth:`target_of`), anything else under its own
    id. The registry is the hub's alone: :meth:`add`, :meth:`remove`,
    :meth:`target_of` and :meth:`registered` are the only ways in. Each is a
    single dict operation, atomic under the GIL and lock-free: every watched
    request registers and unregisters, and most never get sampled.
    Between samples the hub sleeps until the earliest ``start_at`` of its
    targets (a watched request becomes due only at half the slow threshold,
    so under steady traffic it wakes a few times a second, not a hundred), or
    for ``IDLE_TICK`` when it has none. ``add()`` wakes it early only for a
    target due before that, which costs one float comparison on the request
    path. It exits after ``LINGER`` seconds without targets.
    """

    IDLE_TICK = 0.01
    QUICK_LOOKS = 3  # empty looks one interval apart before falling back to IDLE_TICK
    LINGER = 2.0

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self._new_registry()
        self._lock = threading.Lock()
        self._running = False
        self._pid = os.getpid()
        self._saved_switch: float | None = None
        self._switch_lock = threading.Lock()
        self._wake = _Signal()
        # When the hub thread will next look at its targets; infinity while it
        # is looking or not running, so that add() always wakes or starts it then.
        self._wake_at = math.inf

    def _new_registry(self) -> None:
        self._targets: dict[Any, SampleTarget] = {}
        # The dict's own method, bound: finding what a thread serves is on every
        # sync request's path, and a Python-level wrapper would add a frame.
        self.target_of: Callable[[Any], SampleTarget | None] = self._targets.get
        """``target_of(key)``: the target registered under ``key``, or None."""
        self._unregister = self._targets.pop

    def add(self, target: SampleTarget, key: Any) -> None:
        """Register ``target`` under ``key``; it is sampled once its ``start_at`` comes."""
        self._targets[key] = target
        if target.start_at < self._wake_at:
            self.wake()

    def remove(self, key: Any) -> None:
        """Unregister whatever is under ``key`` (nothing, if it is gone already)."""
        self._unregister(key, None)

    def registered(self) -> list[SampleTarget]:
        """A snapshot of every registered target (other threads add and remove meanwhile)."""
        return list(self._targets.values())

    def wake(self) -> None:
        """Have the hub look at its targets now (one became due sooner than it planned)."""
        if self._running:
            self._wake.signal()
        else:
            self._start()

    def after_fork_in_child(self) -> None:
        """The parent's sampler thread does not exist in a forked child."""
        self._lock = threading.Lock()
        self._pid, self._running, self._saved_switch = os.getpid(), False, None
        self._switch_lock = threading.Lock()
        self._new_registry()
        self._wake = _Signal()
        self._wake_at = math.inf

    def _start(self) -> None:
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="profiler-kit-sampler", daemon=True).start()

    def _run(self) -> None:
        own = threading.get_ident()
        idle_since: float | None = None
        # Looks in a row that found nothing due soon. While requests profiled
        # from their first line keep arriving, the registry is often empty
        # between them; looking again one interval later (rather than after
        # IDLE_TICK) means the next one is due no sooner than this thread's
        # planned look, so add() need not wake it: measured with
        # sample_rate=1, one wake per request (a futex wake and a GIL
        # hand-over each, ~40 µs a request on a Flask server) became one per
        # interval.
        quiet_looks = 0
        while True:
            # Order matters: from here until _wake_at is set again below, add()
            # sees infinity and sets the event, so a target that this look
            # misses cuts the coming wait short.
            self._wake_at = math.inf
            self._wake.clear()
            targets = self.registered()
            now = time.perf_counter()
            if not targets:
                self._restore_switch_interval()
                idle_since = idle_since if idle_since is not None else now
                if now - idle_since >= self.LINGER:
                    with self._lock:
                        if not self._targets:
                            self._running = False
                    if not self._running:
                        if self._targets:  # added while this thread was leaving
                            self._start()
                        return
                # Look again within IDLE_TICK: a target due later than that
                # (a watched request) is seen then, without waking this
                # thread once per request; one due sooner (memory) wakes it.
                # Within one interval while first-line targets keep coming.
                quiet_looks += 1
                tick = self.interval if quiet_looks <= self.QUICK_LOOKS else self.IDLE_TICK
                self._wake_at = min(now + tick, idle_since + self.LINGER)
                if self._wake.wait(max(self._wake_at - time.perf_counter(), 0.0)):
                    quiet_looks = 0  # woken for a target due sooner than planned
                continue
            idle_since = None
            due = [t for t in targets if t.start_at <= now]
            if due:
                quiet_looks = 0
                self.lower_switch_interval()
                self._sample(due, now, own)
                wake_at = time.perf_counter() + self.interval  # a full interval off the GIL
            else:
                wake_at = min(t.start_at for t in targets)
                if wake_at - now <= 2 * self.interval:
                    quiet_looks = 0  # a first-line target, due within an interval or two
                else:
                    self._restore_switch_interval()
            self._wake_at = wake_at
            # No target is ever due (requests profiled from their first line):
            # add() wakes this thread for one that is; look again after LINGER,
            # to exit once the registry is empty.
            timeout = self.LINGER if wake_at == math.inf else max(wake_at - time.perf_counter(), 0)
            if self._wake.wait(timeout):
                quiet_looks = 0

    def _sample(self, due: list[SampleTarget], now: float, own: int) -> None:
        # Frames are read with the collector paused (on 3.11, see
        # _PAUSE_GC_WHILE_READING_FRAMES) and turned into strings after.
        # Nothing in that window may let go of the GIL, or the app's threads
        # run with the collector off meanwhile: the RSS of a target's first
        # look (a file read) is taken before it.
        for target in due:
            if target.began_at is None and target.rss_at_begin is None:
                target.rss_at_begin = read_rss()
        pending: list[tuple[SampleTarget, RawStack, float, bool]] = []
        if _PAUSE_GC_WHILE_READING_FRAMES:
            pause_collector()  # nests with a memray tracker's pause (memory.py)
        try:
            self._read_stacks(due, now, own, pending)
        finally:
            if _PAUSE_GC_WHILE_READING_FRAMES:
                resume_collector()
        for target, raw, gap, waiting in pending:
            stack = identifiers_of(raw)
            if waiting:
                stack.append(AWAIT_FRAME)
            target.records.append((stack, gap))

    def _read_stacks(
        self,
        due: list[SampleTarget],
        now: float,
        own: int,
        pending: list[tuple[SampleTarget, RawStack, float, bool]],
    ) -> None:
        frames = sys._current_frames()
        running_task: Callable[[Any], Any] | None = None
        for target in due:
            if target.began_at is None:
                target.records = []  # before began_at: whoever sees began_at finds records
                target.began_at = target._last = now
                continue
            gap, target._last = now - target._last, now
            frame = frames.get(target.thread_id)
            if frame is not None and target.thread_id != own:
                task = target.task
                if task is None:
                    pending.append((target, raw_stack_of(frame), gap, False))
                else:
                    if running_task is None:
                        running_task = _running_task_reader()
                    running = running_task(target.loop)
                    if running is task or (
                        running is not None
                        and target.context_var is not None
                        and _runs_for(running, target)
                    ):
                        pending.append((target, raw_stack_of(frame), gap, False))
                    elif not task.done():
                        # Suspended: the time is the request's, spent waiting where
                        # its coroutines await (the loop idles or serves others).
                        if running is not None:
                            target.foreign_samples += 1
                        pending.append((target, raw_await_stack(task), gap, True))
            for helper in target.helper_threads:  # a frozenset: never changed in place
                helper_frame = frames.get(helper)
                if helper_frame is not None:
                    pending.append((target, raw_stack_of(helper_frame), gap, False))
        del frames

    def lower_switch_interval(self) -> None:
        """Let this thread have the GIL within one interval, from now until it finds nothing due.

        A CPU-bound thread keeps the GIL for the switch interval (5 ms by
        default): lowered while sampling, so that samples arrive on time. A
        request profiled from its first line lowers it as it starts: left to
        this thread, which needs the GIL to lower it, the first sample of a
        CPU-bound request came up to 5 ms late (measured: half of 5 ms
        Django requests had no sample at all).
        """
        with self._switch_lock:
            if self._saved_switch is None:
                self._saved_switch = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved_switch, self.interval))

    def _restore_switch_interval(self) -> None:
        with self._switch_lock:
            if self._saved_switch is not None:
                sys.setswitchinterval(self._saved_switch)
                self._saved_switch = None


hub = SamplerHub()
"""The process-wide hub."""

os.register_at_fork(after_in_child=hub.after_fork_in_child)
