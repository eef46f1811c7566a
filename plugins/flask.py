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

from typing import Any

from profiler_kit.plugins._require import require

require("flask", "flask", "Flask")

from flask import Flask  # noqa: E402

from profiler_kit.config import load_settings  # noqa: E402
from profiler_kit.web.wsgi import Environ, ProfilerMiddleware  # noqa: E402

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
            app.wsgi_app, settings, route_resolver=route_of, framework="flask", hook=hook
        )
        app.wsgi_app = self.middleware  # type: ignore[method-assign]
