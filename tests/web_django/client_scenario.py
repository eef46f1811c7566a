"""Requests through Django's test ``Client``, in a child process.

Run by ``test_test_client.py`` as ``python client_scenario.py PATH STORE``
(``/`` or ``/stream``): what happens at the interpreter's exit is part of
what is checked, so it runs in a process of its own. It prints one JSON
line: what the store held and what was still running once ``REQUESTS``
responses had been dropped without reading a streamed body (and, for
``/stream``, one request to ``/`` after them). Then it makes one more
request and keeps that response until exit, so the exit path ends a
capture too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from client_scenarios import REQUESTS, print_report
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="profiler-kit-tests-only",  # a test project
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["testserver", "127.0.0.1"],
    MIDDLEWARE=["profiler_kit.plugins.django.ProfilerMiddleware"],
    PROFILER_KIT={
        "store": sys.argv[2],
        "sample_rate": 1.0,
        "max_captures_per_minute": 100000,
    },
)

import django  # noqa: E402

django.setup()

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"hello from django")


def chunks() -> Iterator[bytes]:
    yield b"hello "
    yield b"from a stream"


def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(chunks())


urlpatterns = [path("", index), path("stream", stream)]


def send(client: Client, url: str, count: int) -> None:
    """``count`` GETs whose responses are checked and dropped; a streamed body is never read."""
    for _ in range(count):
        response = client.get(url)
        assert response.status_code == 200


def main(url: str, store: str) -> Client:
    from profiler_kit.testing import wait_for_captures

    client = Client()
    send(client, url, REQUESTS)
    expected = REQUESTS
    if url == "/stream":
        # Django's test responses are freed by the garbage collector (each is in
        # a reference cycle), too late and anywhere to end a capture: the last
        # stream left unread is ended by the next request on this thread.
        send(client, "/", 1)
        expected += 1
    # Written by the background writer: wait for it (a short wait when some are missing).
    captures = wait_for_captures(Path(store), expected, timeout=10.0)
    print_report(len(captures))
    return client


if __name__ == "__main__":
    kept_client = main(sys.argv[1], sys.argv[2])
    kept_response = kept_client.get(sys.argv[1])  # held until exit, never read
