"""Which task an event loop is running, asked from any thread.

Kept apart from the sampler so that importing the sampler (every
``profiler-kit run``) does not import asyncio; only code that already has an
event loop needs this.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["running_task", "task_context"]


def _running_task_reader() -> Callable[[Any], Any]:
    """How to learn which task an event loop (of any thread) is running.

    ``asyncio.current_task(loop)`` is the public way, and safe from another
    thread on every version. Up to 3.13 it is a lookup in the dict
    ``asyncio.tasks._current_tasks``, which the C implementation keeps; the
    hub and every async request read that dict directly, without the call.
    From 3.14 on the running task lives in the thread state and that dict is
    no longer updated (reading it would mix concurrent requests), so the
    public function is the only way.
    """
    current_tasks: dict[Any, Any] | None = getattr(asyncio.tasks, "_current_tasks", None)
    if sys.version_info >= (3, 14) or current_tasks is None:
        return asyncio.current_task
    return current_tasks.get


running_task: Callable[[Any], Any] = _running_task_reader()
"""``running_task(loop)``: the task ``loop`` is running now, or None."""


def _context_by_referents(task: Any) -> contextvars.Context | None:
    """A task's context on 3.11, which has no ``Task.get_context()``.

    The C task's traverse function visits its context first (then its
    coroutine, then the future's callbacks and their contexts), so it is the
    first :class:`contextvars.Context` among the task's referents. Read under
    the GIL, like everything the sampler hub reads.
    """
    for referent in gc.get_referents(task):
        if type(referent) is contextvars.Context:
            return referent
    return None


def task_context(task: Any) -> contextvars.Context | None:
    """The context a task runs in: what its context variables hold, readable from any thread.

    A request's child tasks (a streamed body, a task group) copy the request's
    context, so this tells the sampler hub whose work a running task is.
    """
    get_context = getattr(task, "get_context", None)
    if get_context is not None:
        return get_context()  # type: ignore[no-any-return]
    return _context_by_referents(task)
