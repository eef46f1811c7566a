"""A one-file Django project with profiler-kit: the one line is in ``MIDDLEWARE``.

pip install 'profiler-kit[django]' gunicorn uvicorn
PROFILER_KIT_SAMPLE_RATE=1 gunicorn -w 2 examples.django_app:application        # WSGI
PROFILER_KIT_SAMPLE_RATE=1 uvicorn examples.django_app:asgi_application         # ASGI
curl localhost:8000/items/42 && profiler-kit ls
"""

from __future__ import annotations

import asyncio
import hashlib
import time

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="profiler-kit-example-only",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    MIDDLEWARE=[
        "profiler_kit.plugins.django.ProfilerMiddleware",  # the one line
    ],
    PROFILER_KIT={},  # e.g. {"sample_rate": 0.01, "slow_ms": 500}; PROFILER_KIT_* also works
)

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


def hash_rounds(rounds: int) -> str:
    digest = b""
    for _ in range(rounds):
        digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


def item(request: HttpRequest, item_id: int) -> JsonResponse:
    return JsonResponse({"id": item_id, "digest": hash_rounds(2_000)})


async def async_item(request: HttpRequest, item_id: int) -> JsonResponse:
    await asyncio.sleep(0)
    return JsonResponse({"id": item_id, "digest": hash_rounds(2_000)})


def slow(request: HttpRequest) -> HttpResponse:
    time.sleep(0.6)
    return HttpResponse("slow")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(f"{hash_rounds(500)}:{i}\n" for i in range(5))


urlpatterns = [
    path("hello", hello),
    path("items/<int:item_id>", item),
    path("async/<int:item_id>", async_item),
    path("slow", slow),
    path("stream", stream),
]

application = get_wsgi_application()
asgi_application = get_asgi_application()
