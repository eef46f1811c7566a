"""Options that choose captures (route, time window, service, duration), shared by commands."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from profiler_kit.store import Selection
from profiler_kit.web.tokens import parse_duration

__all__ = ["parse_moment", "parse_min_duration", "selection_from", "selection_options"]

F = TypeVar("F", bound=Callable[..., Any])


def parse_moment(text: str, *, now: float | None = None) -> float:
    """``2026-11-25``, ``2026-11-25T14:00``, ``2026-11-25T14:00:00Z`` or ``2h`` (ago)."""
    try:
        return (time.time() if now is None else now) - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither an ISO date/time (2026-11-25T14:00) nor a duration ago (2h)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as typed
    return moment.timestamp()


def parse_min_duration(text: str) -> float:
    """``250ms``, ``1.5s`` or a bare number of milliseconds, as seconds."""
    text = text.strip().lower()
    try:
        if text.endswith("ms"):
            return float(text[:-2]) / 1000
        if text.endswith("s"):
            return float(text[:-1])
        return float(text) / 1000
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a duration (try 250ms or 1.5s)") from None


def selection_options(function: F) -> F:
    for decorator in reversed(
        [
            click.option(
                "--route",
                metavar="PATTERN",
                help="Only routes, paths or targets matching this shell pattern.",
            ),
            click.option(
                "--since",
                metavar="WHEN",
                help="Only captures started at or after WHEN (ISO time, or 2h: two hours ago).",
            ),
            click.option("--until", metavar="WHEN", help="Only captures started before WHEN."),
            click.option("--service", metavar="NAME", help="Only captures of this service."),
            click.option(
                "--min-duration",
                metavar="DURATION",
                help="Only captures at least this long (250ms, 1.5s).",
            ),
        ]
    ):
        function = decorator(function)
    return function


def selection_from(
    route: str | None,
    since: str | None,
    until: str | None,
    service: str | None,
    min_duration: str | None,
) -> Selection:
    return Selection(
        route=route,
        since=parse_moment(since) if since else None,
        until=parse_moment(until) if until else None,
        service=service,
        min_duration_s=parse_min_duration(min_duration) if min_duration else None,
    )
