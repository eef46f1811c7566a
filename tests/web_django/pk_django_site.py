"""A one-file Django project: gunicorn serves ``application``, uvicorn ``asgi_application``.

The integration tests in this directory start it from this directory. Profiling
is configured through ``PROFILER_KIT_*`` environment variables; with
``PK_TEST_SETTINGS_DICT=1`` the project also sets Django's ``PROFILER_KIT`` dict.

Every view that a test looks for in a profile calls a uniquely named hot
function, so finding that name in a capture's frames proves the view's own
work was sampled (not just the server around it).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Iterator

from django.conf import settings

PROFILER_KIT: dict[str, object] = {}
if os.environ.get("PK_TEST_SETTINGS_DICT") == "1":
    PROFILER_KIT = {"sample_rate": 1.0, "exclude_paths": ["/skip*"]}

settings.configure(
    DEBUG=False,
    SECRET_KEY="profiler-kit-tests-only",  # a test project
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    MIDDLEWARE=["profiler_kit.plugins.django.ProfilerMiddleware"],
    PROFILER_KIT=PROFILER_KIT,
)

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import (  # noqa: E402
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import path  # noqa: E402

HOT_S = 0.03
CHUNKS = 5
CHUNK_SLEEP_S = 0.06
CHUNK_HASH_S = 0.008
SLOW_S = 0.5


def _hash_for(seconds: float) -> str:
    digest = b""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


# -- hot functions, one name per view kind -----------------------------------


def pkt_sync_view_hot_work() -> str:
    return _hash_for(HOT_S)


def pkt_async_view_hot_work() -> str:
    return _hash_for(HOT_S)


def pkt_private_view_work(*values: object) -> str:
    return _hash_for(0.02) + str(len(values))


def pkt_sync_stream_chunk(index: int) -> bytes:
    return f"{index}:{_hash_for(CHUNK_HASH_S)[:16]}\n".encode()


def pkt_async_stream_chunk(index: int) -> bytes:
    return f"{index}:{_hash_for(CHUNK_HASH_S)[:16]}\n".encode()


# -- views -------------------------------------------------------------------


def _item_reply(request: HttpRequest, item_id: int, digest: str, kind: str) -> JsonResponse:
    status = 201 if request.method == "POST" else 200
    return JsonResponse({"id": item_id, "kind": kind, "digest": digest}, status=status)


def item(request: HttpRequest, item_id: int) -> JsonResponse:
    return _item_reply(request, item_id, pkt_sync_view_hot_work(), "sync")


async def async_item(request: HttpRequest, item_id: int) -> JsonResponse:
    await asyncio.sleep(0)
    return _item_reply(request, item_id, pkt_async_view_hot_work(), "async")


def fast(request: HttpRequest, n: int) -> HttpResponse:
    return HttpResponse(f"fast sync {n}")


async def async_fast(request: HttpRequest, n: int) -> HttpResponse:
    return HttpResponse(f"fast async {n}")


def sleepy(request: HttpRequest, n: int) -> HttpResponse:
    time.sleep(SLOW_S)
    return HttpResponse(f"slept sync {n}")


async def async_sleepy(request: HttpRequest, n: int) -> HttpResponse:
    await asyncio.sleep(SLOW_S)
    return HttpResponse(f"slept async {n}")


def missing(request: HttpRequest, n: int) -> HttpResponse:
    raise Http404(f"no such thing {n}")


async def async_missing(request: HttpRequest, n: int) -> HttpResponse:
    raise Http404(f"no such thing {n}")


def boom(request: HttpRequest, n: int) -> HttpResponse:
    raise RuntimeError(f"boom {n}")


async def async_boom(request: HttpRequest, n: int) -> HttpResponse:
    raise RuntimeError(f"boom {n}")


def sync_stream(request: HttpRequest, n: int) -> StreamingHttpResponse:
    def chunks() -> Iterator[bytes]:
        for index in range(CHUNKS):
            time.sleep(CHUNK_SLEEP_S)
            yield pkt_sync_stream_chunk(index)

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def async_stream(request: HttpRequest, n: int) -> StreamingHttpResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for index in range(CHUNKS):
            await asyncio.sleep(CHUNK_SLEEP_S)
            yield pkt_async_stream_chunk(index)

    return StreamingHttpResponse(chunks(), content_type="text/plain")


def private(request: HttpRequest, n: int) -> HttpResponse:
    # Touch everything secret, as a real view would.
    seen = [request.GET.get("password"), request.COOKIES, request.headers.get("Authorization")]
    pkt_private_view_work(*seen)
    return HttpResponse(f"private {n} {sum(1 for value in seen if value)}")


urlpatterns = [
    path("items/<int:item_id>", item),
    path("async-items/<int:item_id>", async_item),
    path("fast/<int:n>", fast),
    path("async-fast/<int:n>", async_fast),
    path("sleep/<int:n>", sleepy),
    path("async-sleep/<int:n>", async_sleepy),
    path("missing/<int:n>", missing),
    path("async-missing/<int:n>", async_missing),
    path("boom/<int:n>", boom),
    path("async-boom/<int:n>", async_boom),
    path("stream/sync/<int:n>", sync_stream),
    path("stream/async/<int:n>", async_stream),
    path("health/sync/<int:n>", fast),
    path("health/async/<int:n>", async_fast),
    path("skip/<int:n>", fast),
    path("private/<int:n>", private),
]

application = get_wsgi_application()
asgi_application = get_asgi_application()
