"""profiler-kit: CPU and memory profiles of web requests and scripts, kept in one store.

The public entry points are the CLI (``profiler-kit``) and the framework
plugins under :mod:`profiler_kit.plugins`; the modules here are the engine
they share.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"
__all__ = ["PACKAGE_DIR", "__version__"]

PACKAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")
"""This package's directory, with a trailing separator: frames from files below
it are profiler-kit's own (the plugins and reports install inside it)."""
