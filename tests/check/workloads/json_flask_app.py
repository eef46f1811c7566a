"""A WSGI (Flask) app for ``profiler-kit bench``: a JSON body validated and echoed."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

app = Flask(__name__)


@app.get("/hello")
def hello() -> str:
    return "hello"


@app.post("/orders")
def orders() -> Any:
    """``{"items": [{"sku": str, "quantity": int}, ...]}`` back with a total; else 400."""
    body = request.get_json(silent=True)
    if request.mimetype != "application/json" or not isinstance(body, dict):
        return {"error": "a JSON object is required"}, 400
    items = body.get("items")
    if not isinstance(items, list) or not items:
        return {"error": "items must be a non-empty list"}, 400
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("quantity"), int):
            return {"error": "every item needs an integer quantity"}, 400
    return {"items": items, "total": sum(item["quantity"] for item in items)}


@app.get("/broken")
def broken() -> Any:
    return "the database is down", 500


@app.get("/raises")
def raises() -> str:
    raise RuntimeError("an endpoint that raises")
