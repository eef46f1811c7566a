"""Django: add ``"profiler_kit.plugins.django.ProfilerMiddleware"`` to ``MIDDLEWARE``.

Settings live in a ``PROFILER_KIT`` dict in Django's settings (then
``PROFILER_KIT_*`` environment variables and pyproject.toml)::

    MIDDLEWARE = [
        "profiler_kit.plugins.django.ProfilerMiddleware",
        ...
    ]
    PROFILER_KIT = {"sample_rate": 0.01, "slow_ms": 500}

The middleware is both sync- and async-capable, so Django runs it natively
under WSGI and ASGI. Views that Django runs in another thread (sync views
under ASGI, async views under WSGI) are followed there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

from profiler_kit.plugins._require import require

require("django", "django", "Django")

from asgiref.sync import iscoroutinefunction, markcoroutinefunction  # noqa: E402
from django.conf import settings as django_settings  # noqa: E402
from django.core.exceptions import MiddlewareNotUsed  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from profiler_kit.config import load_settings  # noqa: E402
from profiler_kit.web.recorder import InFlight, RequestRecorder  # noqa: E402
from profiler_kit.web.threadpool import install_asgiref_hops  # noqa: E402

# Its import also ends, at exit, a streamed response the test left unread.
from profiler_kit.web.wsgi import end_left_requests  # noqa: E402, F401

__all__ = ["ProfilerMiddleware"]


def _route_of(request: Any) -> str | None:
    """The resolved route template; asked only for requests that are kept."""
    match = getattr(request, "resolver_match", None)
    template = getattr(match, "route", None)
    if not template:
        return None
    template = str(template)
    return template if template.startswith("/") else "/" + template


class ProfilerMiddleware:
    """Profiles requests under WSGI or ASGI, with sync or async views."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        configured = dict(getattr(django_settings, "PROFILER_KIT", {}) or {})
        hook = configured.pop("hook", None)
        if isinstance(hook, str):
            hook = import_string(hook)
        settings = load_settings(configured)
        if not settings.enabled:
            # Django then leaves this middleware out of the chain: no cost per request.
            raise MiddlewareNotUsed("profiler-kit is disabled (enabled=False)")
        self.recorder = RequestRecorder(
            settings, framework="django", hook=hook, flight_type=_Flight
        )
        cast("type[_Flight]", self.recorder.flight_class).recorder = self.recorder
        header = self.recorder.settings.trigger_header.upper().replace("-", "_")
        self._token_key = f"HTTP_{header}"
        self._with_query = self.recorder.settings.capture_query_string
        install_asgiref_hops()

    def _start(self, request: Any, is_async: bool) -> _Flight | None:
        meta = request.META
        # The recorder makes flights of this plugin's type (flight_type above).
        return self.recorder.start(  # type: ignore[return-value]
            request.method or "GET",
            request.path,
            meta.get("QUERY_STRING") if self._with_query else None,
            meta.get(self._token_key),
            is_async,
        )

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self.__acall__(request)
        flight = self._start(request, False)  # is_async
        if flight is None:
            return self.get_response(request)
        try:
            response = self.get_response(request)
        except BaseException:
            self.recorder.finish(flight, None, _route_of, request, error=True)
            raise
        self._finish_with(flight, request, response)
        return response

    async def __acall__(self, request: Any) -> Any:
        flight = self._start(request, True)  # is_async
        if flight is None:
            return await self.get_response(request)
        try:
            response = await self.get_response(request)
        except BaseException:
            self.recorder.finish(flight, None, _route_of, request, error=True)
            raise
        self._finish_with(flight, request, response)
        return response

    def _finish_with(self, flight: _Flight, request: Any, response: Any) -> None:
        status = getattr(response, "status_code", None)
        if not getattr(response, "streaming", False):
            self.recorder.finish(flight, status, _route_of, request)
            return
        # A streaming body is sent after we return: end the capture with it.
        finish = lambda: self.recorder.finish(flight, status, _route_of, request)  # noqa: E731
        if not flight.is_async:
            # Under WSGI the server closes the response on the request thread,
            # where the profiler started; Django may read an async body in
            # another thread, so the end of the body is not the place. A test
            # that never reads the body never closes it either: the next
            # request on this thread ends it then (_Flight.end_if_left).
            flight.status, flight.streamed = status, request
            _finish_on_close(response, finish)
            return
        content = response.streaming_content
        if hasattr(content, "__aiter__"):
            response.streaming_content = _finishing_async(content, finish)
        else:
            response.streaming_content = _finishing_sync(content, finish)


class _Flight(InFlight):
    """A Django request's flight; one that streams knows how to end itself if left."""

    recorder: RequestRecorder  # set on the recorder's flight class
    streamed: Any = None  # the request, once a sync streaming response is handed over
    status: int | None = None

    def end_if_left(self) -> bool:
        """Called by the recorder when the next request starts on this thread while
        this one is registered: False while it is still in the view (a nested
        middleware of ours), else its streamed response was never closed: end it.
        """
        request = self.streamed
        if request is None:
            return False
        self.recorder.stats.incr("response.not_closed")
        self.recorder.finish(self, self.status, _route_of, request, False, True)  # left
        return True


def _finish_on_close(response: Any, finish: Callable[[], None]) -> None:
    original_close = response.close

    def close() -> None:
        try:
            original_close()
        finally:
            finish()

    response.close = close


def _finishing_sync(content: Iterator[bytes], finish: Callable[[], None]) -> Iterator[bytes]:
    try:
        yield from content
    finally:
        finish()


async def _finishing_async(
    content: AsyncIterator[bytes], finish: Callable[[], None]
) -> AsyncIterator[bytes]:
    try:
        async for chunk in content:
            yield chunk
    finally:
        finish()
