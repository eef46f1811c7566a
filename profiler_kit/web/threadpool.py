"""Follow a request into the threadpool.

Starlette and FastAPI run ``def`` endpoints and sync dependencies through
``anyio.to_thread.run_sync``. A profiler on the event-loop thread never sees
that work (pyinstrument #257). While a request is being profiled, the
wrapped ``run_sync`` runs the function under a profiler of the worker thread
and hands its samples and CPU time back to the request. For every other
request the wrapper costs one context-variable lookup.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from profiler_kit.web.engines import Hop
from profiler_kit.web.recorder import InFlight, current_flight

__all__ = ["install_anyio_hop", "install_asgiref_hops"]

T = TypeVar("T")
_install_lock = threading.Lock()


def _hop(flight: InFlight, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs in the worker thread; frames above this one are trimmed from captures."""
    hop = _begin_hop(flight)
    try:
        return func(*args, **kwargs)
    finally:
        _end_hop(flight, hop)


def _begin_hop(flight: InFlight) -> Hop | None:
    try:
        return flight.enter_hop()
    except Exception as error:
        _failed(flight, "entering a worker thread", error)
        return None


def _end_hop(flight: InFlight, hop: Hop | None) -> None:
    """Hand the hop's samples back; never raises into the app's worker thread."""
    try:
        if hop is not None:
            flight.exit_hop(hop)
        pending, flight.pending_finish = flight.pending_finish, None
        if pending is not None:
            pending()  # the request ended inside this hop: finish now that its samples are in
    except Exception as error:
        _failed(flight, "leaving a worker thread", error)


def _failed(flight: InFlight, what: str, error: Exception) -> None:
    if flight.stats is not None:
        flight.stats.failure(what, error)


def install_anyio_hop() -> bool:
    """Wrap ``anyio.to_thread.run_sync`` once per process; ``False`` without anyio."""
    try:
        import anyio.to_thread as to_thread
    except ImportError:
        return False
    with _install_lock:
        if getattr(to_thread.run_sync, "_profiler_kit_hop", False):
            return True
        original = to_thread.run_sync

        @functools.wraps(original)
        async def run_sync(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
            flight = current_flight()
            if flight is None or flight.finished:
                return await original(func, *args, **kwargs)
            return await original(functools.partial(_hop, flight, func), *args, **kwargs)

        run_sync._profiler_kit_hop = True  # type: ignore[attr-defined]
        to_thread.run_sync = run_sync  # type: ignore[assignment]
        return True


async def _async_hop(flight: InFlight, awaitable: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """An awaitable run on another thread's event loop (asgiref's AsyncToSync)."""
    hop = _begin_hop(flight)
    try:
        return await awaitable(*args, **kw)
    finally:
        _end_hop(flight, hop)


def install_asgiref_hops() -> bool:
    """Follow Django's ``sync_to_async`` / ``async_to_sync`` thread switches.

    Django runs sync views under ASGI, and async views under WSGI, in another
    thread through asgiref. ``False`` without asgiref.
    """
    try:
        from asgiref.sync import AsyncToSync, SyncToAsync
    except ImportError:
        return False
    with _install_lock:
        if getattr(SyncToAsync.__call__, "_profiler_kit_hop", False):
            return True
        sync_call = SyncToAsync.__call__
        async_call = AsyncToSync.__call__

        async def sync_to_async_call(self: Any, *args: Any, **kwargs: Any) -> Any:
            flight = current_flight()
            if flight is None or flight.finished:
                return await sync_call(self, *args, **kwargs)
            hopped = copy.copy(self)
            hopped.func = functools.partial(_hop, flight, self.func)
            return await sync_call(hopped, *args, **kwargs)

        def async_to_sync_call(self: Any, *args: Any, **kwargs: Any) -> Any:
            flight = current_flight()
            if flight is None or flight.finished:
                return async_call(self, *args, **kwargs)
            hopped = copy.copy(self)
            hopped.awaitable = functools.partial(_async_hop, flight, self.awaitable)
            return async_call(hopped, *args, **kwargs)

        sync_to_async_call._profiler_kit_hop = True  # type: ignore[attr-defined]
        patched_sync: Any = functools.wraps(sync_call)(sync_to_async_call)  # type: ignore[arg-type]
        patched_async: Any = functools.wraps(async_call)(async_to_sync_call)  # type: ignore[arg-type]
        SyncToAsync.__call__ = patched_sync  # type: ignore[method-assign]
        AsyncToSync.__call__ = patched_async  # type: ignore[method-assign]
        return True
