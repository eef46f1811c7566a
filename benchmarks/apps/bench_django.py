"""The Django benchmark app: ``gunicorn -w 1 bench_django:application``; variant from BENCH_VARIANT.

For the pyinstrument variant, Django's recipe is the middleware pyinstrument
ships, ``pyinstrument.middleware.ProfilerMiddleware``. It profiles every
request once ``PYINSTRUMENT_PROFILE_DIR`` is set, then renders the session
with ``PYINSTRUMENT_PROFILE_DIR_RENDERER`` and writes the output to a file
named by ``PYINSTRUMENT_FILENAME_CALLBACK``. To measure the profiling and not
HTML rendering or disk writes, the renderer here returns an empty string
(:class:`NullRenderer`) and the callback names ``os.devnull`` (an absolute
path, which ``os.path.join(profile_dir, ...)`` keeps), so each request still
pays the middleware's own bookkeeping (settings lookups, one ``stat`` of the
profile dir, opening /dev/null) but nothing proportional to the profile.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from bench_common import INTERVAL, VARIANT, burn
from django.conf import settings

MIDDLEWARE = {
    "bare": [],
    "noop": ["bench_django.PassThroughMiddleware"],
    "pk": ["profiler_kit.plugins.django.ProfilerMiddleware"],
    "pyinstrument": ["pyinstrument.middleware.ProfilerMiddleware"],
    "pyinstrument-kept": ["pyinstrument.middleware.ProfilerMiddleware"],
}[VARIANT]

extra: dict[str, Any] = {}
if VARIANT == "pyinstrument":
    extra = {
        "PYINSTRUMENT_PROFILE_DIR": os.environ.get("BENCH_PYINSTRUMENT_DIR")
        or tempfile.gettempdir(),
        "PYINSTRUMENT_PROFILE_DIR_RENDERER": "bench_django.NullRenderer",
        "PYINSTRUMENT_FILENAME_CALLBACK": lambda request, session, renderer: os.devnull,
        "PYINSTRUMENT_INTERVAL": INTERVAL,
    }
elif VARIANT == "pyinstrument-kept":
    # The middleware as documented: every request's profile rendered (HTML, its
    # default renderer) and written to its own file in the profile dir.
    extra = {
        "PYINSTRUMENT_PROFILE_DIR": os.environ.get("BENCH_PYINSTRUMENT_DIR")
        or tempfile.gettempdir(),
        "PYINSTRUMENT_INTERVAL": INTERVAL,
    }

settings.configure(
    DEBUG=False,
    SECRET_KEY="profiler-kit-benchmark-only",  # a benchmark, not a deployment
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=[],
    DATABASES={},
    MIDDLEWARE=MIDDLEWARE,
    USE_TZ=True,
    PROFILER_KIT={},  # settings from PROFILER_KIT_* set by the driver
    **extra,
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


class PassThroughMiddleware:
    """A Django middleware that does nothing: the cost of any middleware at all."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)


if VARIANT == "pyinstrument":
    from pyinstrument.renderers import Renderer

    class NullRenderer(Renderer):  # type: ignore[misc]
        """Renders nothing: the session is discarded, as in the other recipes."""

        output_file_extension = "txt"

        def render(self, session: Any) -> str:
            return ""


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello", content_type="text/plain")


def cpu(request: HttpRequest) -> HttpResponse:
    return HttpResponse(burn(), content_type="text/plain")


urlpatterns = [path("hello", hello), path("cpu", cpu)]

application = get_wsgi_application()
