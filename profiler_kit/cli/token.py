"""``profiler-kit token``: a signed, expiring trigger token for one request or a few."""

from __future__ import annotations

import click

from profiler_kit.config import load_settings
from profiler_kit.errors import ProfilerKitError
from profiler_kit.web.tokens import make_token, parse_duration

__all__ = ["token"]


@click.command()
@click.option(
    "--ttl", default="10m", show_default=True, help="How long the token is valid: 90s, 10m, 2h."
)
@click.option(
    "--secret",
    envvar="PROFILER_KIT_TRIGGER_SECRET",
    default=None,
    help="The app's trigger secret. [default: $PROFILER_KIT_TRIGGER_SECRET, then pyproject.toml]",
)
def token(ttl: str, secret: str | None) -> None:
    """Print a token that makes the app profile requests carrying it.

    \b
    Send it in the X-Profiler-Kit-Token header (or the header the app configures):
      curl -H "X-Profiler-Kit-Token: $(profiler-kit token --ttl 5m)" https://app/checkout

    The app must have the same trigger secret configured; without one, the
    header is ignored. Anyone holding the token can trigger profiling until it
    expires, so keep the TTL short.
    """
    try:
        seconds = parse_duration(ttl)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--ttl") from error
    secret = secret or load_settings().trigger_secret
    if not secret:
        raise ProfilerKitError(
            "no trigger secret: set PROFILER_KIT_TRIGGER_SECRET (the same value the app uses) "
            "or pass --secret"
        )
    try:
        click.echo(make_token(secret, seconds))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--ttl") from error
