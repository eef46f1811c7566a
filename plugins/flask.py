"""Flask: ``ProfilerKit(app)`` or ``profiler_kit.init_app(app)``.

Settings come from keyword arguments, then ``app.config["PROFILER_KIT"]`` (a
dict), then ``PROFILER_KIT_*`` environment variables and pyproject.toml::

    from profiler_kit.plugins.flask import ProfilerKit

    app = Flask(__name__)
    ProfilerKit(app, sample_rate=0.01, slow_ms=500)

The route template (``/users/<int:user_id>``) is looked up only for requests
that are kept, so other requests pay nothing for it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

from profiler_kit.plugins._require import require

require("flask", "flask", "Flask")

from flask import Flask  # noqa: E402

from profiler_kit.config import load_settings  # noqa: E402
from profiler_kit.web.wsgi import (  # noqa: E402
    Environ,
    ProfilerMiddleware,
    StartResponse,
    WSGIApp,
)

__all__ = ["ProfilerKit"]


class ProfilerKit:
    """The Flask extension: wraps ``app.wsgi_app`` in the WSGI core."""

    def __init__(self, app: Flask | None = None, **settings: Any) -> None:
        self._settings = settings
        self.middleware: ProfilerMiddleware | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        configured = {**dict(app.config.get("PROFILER_KIT", {}) or {}), **self._settings}
        hook = configured.pop("hook", None)
        settings = load_settings(configured)
        app.extensions["profiler_kit"] = self
        if not settings.enabled:
            return  # disabled: the app is left exactly as it was, at no cost per request
        url_map = app.url_map

        def route_of(environ: Environ) -> str | None:
            try:
                rule, _ = url_map.bind_to_environ(environ).match(return_rule=True)
            except Exception:  # 404, 405, redirects: no rule to name
                return None
            return str(rule.rule)

        self.middleware = ProfilerMiddleware(
            _unowned(app), settings, route_resolver=route_of, framework="flask", hook=hook
        )
        app.wsgi_app = self.middleware  # type: ignore[method-assign]


def _unowned(app: Flask) -> WSGIApp:
    """``app.wsgi_app`` without a strong reference to the app.

    The app holds the middleware (as ``app.wsgi_app``); a middleware holding
    the bound method back would make a reference cycle, and Flask treats an
    app that is not freed as soon as its last reference goes as a bug
    (pallets/flask#3761). So the middleware calls the class's function with
    the app from a weak reference. A ``wsgi_app`` that is already someone
    else's wrapper is wrapped as it is.
    """
    wsgi_app = app.wsgi_app
    function = getattr(wsgi_app, "__func__", None)
    if function is None or getattr(wsgi_app, "__self__", None) is not app:
        return wsgi_app
    app_ref = weakref.ref(app)

    def call(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        app = app_ref()
        if app is None:
            raise RuntimeError(
                "the Flask app was freed while its wsgi_app is still called: keep a "
                "reference to the app itself"
            )
        return function(app, environ, start_response)  # type: ignore[no-any-return]

    return call
