"""The pytest plugin is tested through real pytest sessions in subprocesses (``pytester``).

``pytest_plugins = ["pytester"]`` is refused in a conftest below the rootdir
when the whole suite runs (pytest loads this file after configuration), so
the ``pytester`` plugin is registered when this conftest is: its fixtures and
its ``--runpytest`` option (default ``inprocess``) then exist.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
