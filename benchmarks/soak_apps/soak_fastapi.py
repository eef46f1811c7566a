"""examples/fastapi_app.py as served in the soak: ``uvicorn soak_fastapi:app``."""

from __future__ import annotations

from soak_common import asgi_wrap

from examples.fastapi_app import app as example_app

app = asgi_wrap(example_app)
