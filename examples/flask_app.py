"""A Flask app with profiler-kit: the one line is ``ProfilerKit(app)``.

pip install 'profiler-kit[flask]' gunicorn
PROFILER_KIT_SAMPLE_RATE=1 gunicorn -w 2 examples.flask_app:app
curl localhost:8000/items/42 && profiler-kit ls
"""

from __future__ import annotations

import hashlib
import time

from flask import Flask, Response, stream_with_context

from profiler_kit.plugins.flask import ProfilerKit

app = Flask(__name__)
ProfilerKit(app)  # settings: keyword arguments, app.config["PROFILER_KIT"] or PROFILER_KIT_*


def hash_rounds(rounds: int) -> str:
    digest = b""
    for _ in range(rounds):
        digest = hashlib.sha256(digest + b"profiler-kit").digest()
    return digest.hex()


@app.get("/hello")
def hello() -> str:
    return "hello"


@app.get("/items/<int:item_id>")
def item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "digest": hash_rounds(2_000)}


@app.get("/slow")
def slow() -> str:
    time.sleep(0.6)
    return "slow"


@app.get("/stream")
def stream() -> Response:
    def chunks():  # type: ignore[no-untyped-def]
        for index in range(5):
            yield f"{hash_rounds(500)}:{index}\n"

    return Response(stream_with_context(chunks()), mimetype="text/plain")
