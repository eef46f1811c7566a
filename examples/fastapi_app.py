"""A FastAPI app with profiler-kit: the one line is ``app.add_middleware(...)``.

pip install 'profiler-kit[fastapi]' uvicorn
PROFILER_KIT_SAMPLE_RATE=1 uvicorn examples.fastapi_app:app
curl localhost:8000/items/42 && profiler-kit ls
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from profiler_kit.plugins.fastapi import ProfilerMiddleware

app = FastAPI()
app.add_middleware(ProfilerMiddleware)  # settings: keyword arguments or PROFILER_KIT_*


def hash_rounds(rounds: int) -> str:
    digest = b""
    for _ in range(rounds):
        digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "digest": hash_rounds(2_000)}


@app.get("/sync/{item_id}")
def sync_item(item_id: int) -> dict[str, object]:
    """A ``def`` endpoint: FastAPI runs it in a threadpool."""
    return {"id": item_id, "digest": hash_rounds(2_000)}


@app.get("/slow")
async def slow() -> dict[str, str]:
    await asyncio.sleep(0.6)
    return {"slow": "yes"}


@app.get("/slow-sync")
def slow_sync() -> dict[str, str]:
    time.sleep(0.6)
    return {"slow": "yes"}


@app.get("/stream")
def stream() -> StreamingResponse:
    def chunks() -> Iterator[str]:
        for index in range(5):
            yield f"{hash_rounds(500)}:{index}\n"

    return StreamingResponse(chunks(), media_type="text/plain")
