"""A one-file Django project for the otel_link tests: gunicorn serves ``application``,
uvicorn ``asgi_application``.

``PKT_WIRING`` places profiler-kit's middleware; ``DjangoInstrumentor().instrument()``
always inserts OpenTelemetry's middleware at the top of ``MIDDLEWARE``:

* ``ours-first``: ours first of the project's list, so right after OpenTelemetry's;
* ``ours-last``: ours last of the list;
* ``ours-outermost``: ours inserted above OpenTelemetry's after ``instrument()``.

See ``otel_link_tracing`` for ``PKT_OTEL`` and the exporter.
"""

from __future__ import annotations

import asyncio
import hashlib

from django.conf import settings
from otel_link_tracing import HOT_ROUNDS, configure_tracing, wiring

WIRINGS = ("ours-first", "ours-last", "ours-outermost")
OURS = "profiler_kit.plugins.django.ProfilerMiddleware"
STOCK = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

_mode = configure_tracing()
_wiring = wiring("ours-first")
if _wiring not in WIRINGS:
    raise ValueError(f"PKT_WIRING must be one of {WIRINGS}, not {_wiring!r}")

settings.configure(
    DEBUG=False,
    SECRET_KEY="profiler-kit-tests-only",  # a test project
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    MIDDLEWARE=[*STOCK, OURS] if _wiring == "ours-last" else [OURS, *STOCK],
)

if _mode != "absent":
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    DjangoInstrumentor().instrument()
    if _wiring == "ours-outermost":
        settings.MIDDLEWARE = [OURS, *(name for name in settings.MIDDLEWARE if name != OURS)]

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


def pkot_django_sync_hot(rounds: int) -> str:
    digest = b""
    for _ in range(rounds):
        digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


def pkot_django_async_hot(rounds: int) -> str:
    digest = b""
    for _ in range(rounds):
        digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


def hot(request: HttpRequest, n: int) -> JsonResponse:
    return JsonResponse({"n": n, "digest": pkot_django_sync_hot(HOT_ROUNDS)})


async def async_hot(request: HttpRequest, n: int) -> JsonResponse:
    await asyncio.sleep(0)
    return JsonResponse({"n": n, "digest": pkot_django_async_hot(HOT_ROUNDS)})


def text(request: HttpRequest, n: int) -> HttpResponse:
    return HttpResponse(f"text {n}\n", content_type="text/plain")


def missing(request: HttpRequest, n: int) -> HttpResponse:
    raise Http404(f"no such thing {n}")


urlpatterns = [
    path("hot/<int:n>", hot),
    path("async-hot/<int:n>", async_hot),
    path("text/<int:n>", text),
    path("missing/<int:n>", missing),
]

application = get_wsgi_application()
asgi_application = get_asgi_application()
