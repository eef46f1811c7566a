"""examples/django_app.py as served in the soak (WSGI): ``gunicorn soak_django:application``."""

from __future__ import annotations

from soak_common import wsgi_wrap

from examples.django_app import application as example_application

application = wsgi_wrap(example_application)
