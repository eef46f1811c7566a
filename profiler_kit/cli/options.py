"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from profiler_kit.config import load_settings

__all__ = ["store_option", "resolve_store"]

F = TypeVar("F", bound=Callable[..., Any])


def store_option(function: F) -> F:
    decorator = click.option(
        "--store",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Capture store file. [default: $PROFILER_KIT_STORE, then "
        "[tool.profiler-kit] store in pyproject.toml, then .profiler-kit/captures.sqlite3]",
    )
    return decorator(function)


def resolve_store(store: Path | None) -> Path:
    """The store path after settings layering, made absolute."""
    return load_settings({"store": store}).store.absolute()
