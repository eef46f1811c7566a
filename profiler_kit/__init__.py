"""profiler-kit: CPU and memory profiles of web requests and scripts, kept in one store.

The public entry points are the CLI (``profiler-kit``) and the framework
plugins under :mod:`profiler_kit.plugins`; the modules here are the engine
they share.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
