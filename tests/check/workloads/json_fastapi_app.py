"""An ASGI (FastAPI) app for ``profiler-kit bench``: a JSON body validated and echoed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

started: list[str] = []


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    started.append("startup")
    yield


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    sku: str
    quantity: int


class Order(BaseModel):
    items: list[Item]


@app.get("/hello", response_model=None)
async def hello() -> Any:
    # 503 unless the lifespan startup ran: bench must start the app as a server would.
    if not started:
        return JSONResponse({"error": "not started"}, status_code=503)
    return {"hello": "world"}


@app.post("/orders", response_model=None)
async def orders(order: Order) -> Any:
    """FastAPI answers 422 itself when the body does not validate."""
    if not order.items:
        return JSONResponse({"error": "no items"}, status_code=400)
    return {"items": order.model_dump()["items"], "total": sum(i.quantity for i in order.items)}


@app.get("/sync")
def sync() -> dict[str, str]:
    """A ``def`` endpoint: FastAPI runs it in its thread pool."""
    return {"sync": "yes"}


@app.get("/broken", response_model=None)
async def broken() -> Any:
    return JSONResponse({"error": "the database is down"}, status_code=500)


@app.get("/raises")
async def raises() -> dict[str, str]:
    raise RuntimeError("an endpoint that raises")
