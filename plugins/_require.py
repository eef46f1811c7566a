"""Checks that a plugin's framework is installed, with the exact fix if not."""

from __future__ import annotations

import importlib.util

__all__ = ["require"]


def require(module: str, extra: str, what: str) -> None:
    """Raise an ImportError naming the ``pip install`` that provides ``module``."""
    if importlib.util.find_spec(module) is None:
        raise ImportError(
            f"profiler_kit.plugins.{extra} needs {what}, which is not installed: "
            f"pip install 'profiler-kit[{extra}]'"
        )
