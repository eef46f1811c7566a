"""examples/flask_app.py as served in the soak: ``gunicorn soak_flask:app``."""

from __future__ import annotations

from soak_common import wsgi_wrap

from examples.flask_app import app as example_app

app = wsgi_wrap(example_app)
