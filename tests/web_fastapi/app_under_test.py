"""The FastAPI app the web_fastapi tests run under uvicorn.

Profiling is configured by the ``PROFILER_KIT_*`` environment the test gives
the server. A few switches of our own, also from the environment:

* ``PK_TEST_MIDDLEWARE=0``: no profiler middleware at all (the reference app
  responses are compared with);
* ``PK_TEST_FAULT=memray``: memray's ``Tracker`` fails on ``__enter__``;
* ``PK_TEST_FAULT=hook``: the capture hook raises for every request except
  ``/sentinel/...``.

Every profiled server gets a hook that always captures ``/sentinel/...``: the
tests send one after their requests and, since the background writer stores
captures in order, once the sentinel is in the store so is everything sent
before it.

Functions whose names end in ``_xyz`` are what the tests look for in profiles;
each is unique to one endpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Iterator

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

FAULT = os.environ.get("PK_TEST_FAULT", "")

if FAULT == "memray":
    import memray

    class BrokenTracker:
        """Stands in for ``memray.Tracker``: constructs, then fails to start."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __enter__(self) -> BrokenTracker:
            raise RuntimeError("injected memray failure")

        def __exit__(self, *exc_info: object) -> None:
            return None

    memray.Tracker = BrokenTracker


def sentinel_hook(method: str, path: str) -> bool | None:
    return True if path.startswith("/sentinel/") else None


def raising_hook(method: str, path: str) -> bool | None:
    if path.startswith("/sentinel/"):
        return True
    raise RuntimeError("injected hook failure")


app = FastAPI()

if os.environ.get("PK_TEST_MIDDLEWARE", "1") != "0":
    from profiler_kit.plugins.fastapi import ProfilerMiddleware

    app.add_middleware(ProfilerMiddleware, hook=raising_hook if FAULT == "hook" else sentinel_hook)


# -- helpers -----------------------------------------------------------------


def hash_rounds(rounds: int) -> str:
    digest = b""
    for _ in range(rounds):
        digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


def burn(seconds: float) -> int:
    """Hash until this thread has used ``seconds`` of CPU; returns the rounds."""
    end = time.thread_time() + seconds
    rounds = 0
    digest = b""
    while time.thread_time() < end:
        for _ in range(50):
            digest = hashlib.sha256(digest + b"x").digest()
        rounds += 50
    return rounds


# -- plain endpoints -------------------------------------------------------------


@app.get("/sentinel/{marker}")
async def sentinel(marker: str) -> dict[str, str]:
    return {"sentinel": marker}


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/health/{part}")
async def health_part(part: str) -> dict[str, str]:
    return {"ok": part}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "digest": hash_rounds(200)}


@app.get("/sync/{item_id}")
def sync_item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "digest": hash_rounds(200)}


@app.get("/fast/{n}")
async def fast(n: str) -> dict[str, str]:
    return {"fast": n}


@app.get("/missing/{thing}")
async def missing(thing: str) -> dict[str, str]:
    raise HTTPException(status_code=404, detail=f"no such thing: {thing}")


@app.get("/boom/{n}")
async def boom(n: str) -> dict[str, str]:
    raise RuntimeError(f"unhandled failure {n}")


@app.get("/boom-sync/{n}")
def boom_sync(n: str) -> dict[str, str]:
    raise RuntimeError(f"unhandled failure {n}")


# -- slow requests -------------------------------------------------------------


@app.get("/slow-async/{n}")
async def slow_async(n: str) -> dict[str, str]:
    await asyncio.sleep(0.5)
    return {"slow": n}


@app.get("/slow-sync/{n}")
def slow_sync(n: str) -> dict[str, str]:
    time.sleep(0.5)
    return {"slow": n}


def slow_cpu_burner_async_xyz(seconds: float) -> int:
    end = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < end:
        for i in range(500):
            total += i * i
    return total


def slow_cpu_burner_sync_xyz(seconds: float) -> int:
    end = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < end:
        for i in range(500):
            total += i * i
    return total


@app.get("/slow-cpu-async/{n}")
async def slow_cpu_async(n: str) -> dict[str, object]:
    return {"n": n, "total": slow_cpu_burner_async_xyz(0.5)}


@app.get("/slow-cpu-sync/{n}")
def slow_cpu_sync(n: str) -> dict[str, object]:
    return {"n": n, "total": slow_cpu_burner_sync_xyz(0.5)}


# -- attribution ---------------------------------------------------------------


def sync_hot_function_xyz(seconds: float) -> int:
    return burn(seconds)


@app.get("/sync-hot/{n}")
def sync_hot(n: str) -> dict[str, object]:
    """Reports the CPU time its hot function used, for the test to compare."""
    cpu0 = time.thread_time()
    rounds = sync_hot_function_xyz(0.05)
    return {"n": n, "rounds": rounds, "work_cpu_s": time.thread_time() - cpu0}


def interleave_alpha_hot_xyz(seconds: float) -> int:
    return burn(seconds)


def interleave_beta_hot_xyz(seconds: float) -> int:
    return burn(seconds)


@app.get("/interleave/alpha/{n}")
async def interleave_alpha(n: str) -> dict[str, object]:
    rounds = 0
    for _ in range(20):
        rounds += interleave_alpha_hot_xyz(0.005)
        await asyncio.sleep(0.005)
    return {"n": n, "rounds": rounds}


@app.get("/interleave/beta/{n}")
async def interleave_beta(n: str) -> dict[str, object]:
    rounds = 0
    for _ in range(20):
        rounds += interleave_beta_hot_xyz(0.005)
        await asyncio.sleep(0.005)
    return {"n": n, "rounds": rounds}


def threaded_alpha_hot_xyz(seconds: float) -> int:
    return burn(seconds)


def threaded_beta_hot_xyz(seconds: float) -> int:
    return burn(seconds)


@app.get("/threaded/alpha/{n}")
def threaded_alpha(n: str) -> dict[str, object]:
    return {"n": n, "rounds": threaded_alpha_hot_xyz(0.08)}


@app.get("/threaded/beta/{n}")
def threaded_beta(n: str) -> dict[str, object]:
    return {"n": n, "rounds": threaded_beta_hot_xyz(0.08)}


# -- streaming -----------------------------------------------------------------

STREAM_CHUNKS = 5
STREAM_PAUSE_S = 0.05


def stream_chunk_async_xyz(index: int) -> str:
    burn(0.004)
    return f"chunk {index}: {hash_rounds(50)}\n"


def stream_chunk_sync_xyz(index: int) -> str:
    burn(0.004)
    return f"chunk {index}: {hash_rounds(50)}\n"


def streamed(chunks: Iterator[str] | AsyncIterator[str]) -> StreamingResponse:
    """The header tells the test how long the chunks slept, to compare with the capture."""
    return StreamingResponse(
        chunks,
        media_type="text/plain",
        headers={"x-sleep-total": str(STREAM_CHUNKS * STREAM_PAUSE_S)},
    )


@app.get("/stream-async/{n}")
async def stream_async(n: str) -> StreamingResponse:
    async def chunks() -> AsyncIterator[str]:
        for index in range(STREAM_CHUNKS):
            await asyncio.sleep(STREAM_PAUSE_S)
            yield stream_chunk_async_xyz(index)

    return streamed(chunks())


@app.get("/stream-sync/{n}")
async def stream_sync(n: str) -> StreamingResponse:
    def chunks() -> Iterator[str]:
        for index in range(STREAM_CHUNKS):
            time.sleep(STREAM_PAUSE_S)
            yield stream_chunk_sync_xyz(index)

    return streamed(chunks())


# -- privacy -------------------------------------------------------------------


@app.get("/private/{n}")
async def private(n: str, request: Request) -> dict[str, object]:
    """Says which secrets reached it, so the test knows they were really sent."""
    return {
        "n": n,
        "password": "password" in request.query_params,
        "cookie": bool(request.cookies),
        "authorization": "authorization" in request.headers,
    }


# -- memory --------------------------------------------------------------------

ALLOCATION_BYTES = 24 * 1024 * 1024


def allocate_block_async_xyz(size: int) -> int:
    block = bytearray(size)
    return len(block)


def allocate_block_sync_xyz(size: int) -> int:
    block = bytearray(size)
    return len(block)


@app.get("/allocate-async/{n}")
async def allocate_async(n: str) -> dict[str, object]:
    return {"n": n, "allocated": allocate_block_async_xyz(ALLOCATION_BYTES)}


@app.get("/allocate-sync/{n}")
def allocate_sync(n: str) -> dict[str, object]:
    return {"n": n, "allocated": allocate_block_sync_xyz(ALLOCATION_BYTES)}


@app.get("/plain/{n}")
async def plain(n: str) -> PlainTextResponse:
    return PlainTextResponse(f"plain {n}\n")
