"""The Flask benchmark app: ``gunicorn -w 1 bench_flask:app``; variant from BENCH_VARIANT."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bench_common import INTERVAL, VARIANT, burn, keep_profile
from flask import Flask, Response, g

app = Flask(__name__)


@app.get("/hello")
def hello() -> str:
    return "hello"


@app.get("/cpu")
def cpu() -> str:
    return burn()


class PassThrough:
    """A WSGI wrapper that does nothing: the cost of any middleware at all."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.app(environ, start_response)


if VARIANT == "noop":
    app.wsgi_app = PassThrough(app.wsgi_app)  # type: ignore[method-assign]
elif VARIANT == "pk":
    from profiler_kit.plugins.flask import ProfilerKit

    ProfilerKit(app)  # settings from PROFILER_KIT_* set by the driver
elif VARIANT in ("pyinstrument", "pyinstrument-kept"):
    # pyinstrument's documented Flask recipe (before_request / after_request with
    # the profiler on ``g``), made to profile every request and to discard the
    # session instead of rendering HTML, so only the profiling cost is measured.
    from pyinstrument import Profiler

    @app.before_request
    def start_profiler() -> None:
        g.profiler = Profiler(interval=INTERVAL)
        g.profiler.start()

    @app.after_request
    def stop_profiler(response: Response) -> Response:
        profiler = g.pop("profiler", None)
        if profiler is not None:
            profiler.stop()
            if VARIANT == "pyinstrument-kept":
                # The recipe renders output_html() as the response; kept as a
                # file instead, so the response stays the same as the others'.
                from pyinstrument.renderers import HTMLRenderer

                keep_profile(profiler, HTMLRenderer())
        return response
