"""Capture-policy settings that are unsafe or wasteful in production.

Fix messages quote each setting's default from :class:`Settings` itself, so
they cannot disagree with it after a default changes.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from profiler_kit.config import Settings
from profiler_kit.doctor.results import Check
from profiler_kit.units import format_bytes

__all__ = ["check_policy", "secret_weakness"]

# Thresholds past which a production setting is worth a second look.
MAX_SAMPLE_RATE = 0.1
MAX_MEMORY_SAMPLE_RATE = 0.01
MAX_CAPTURES_PER_MINUTE = 600
MIN_SLOW_MS = 100.0
MIN_SECRET_CHARS = 16
MIN_SECRET_HEX_DIGITS = 32

_RANDOM_HEX_COMMAND = 'python -c "import secrets; print(secrets.token_hex(32))"'


def secret_weakness(secret: str) -> str | None:
    """Why a trigger secret is too short to resist guessing, or ``None``."""
    if all(character in string.hexdigits for character in secret):
        if len(secret) < MIN_SECRET_HEX_DIGITS:
            return f"trigger_secret is {len(secret)} hex digits (under {MIN_SECRET_HEX_DIGITS})"
    elif len(secret) < MIN_SECRET_CHARS:
        return f"trigger_secret is {len(secret)} characters (under {MIN_SECRET_CHARS})"
    return None


def check_policy(settings: Settings, sources: Mapping[str, str] | None = None) -> list[Check]:
    """Settings that are unsafe or wasteful in production."""
    sources = sources or {}
    checks: list[Check] = []
    if not settings.enabled:
        checks.append(
            Check(
                "enabled",
                "info",
                "profiling is switched off (enabled = false): nothing is captured",
            )
        )
    checks.append(_trigger_check(settings, sources.get("trigger_secret")))
    if settings.sample_rate > MAX_SAMPLE_RATE:
        checks.append(
            Check(
                "sample_rate",
                "warn",
                f"sample_rate = {settings.sample_rate:g}: {settings.sample_rate:.0%} of requests "
                "are profiled from their first line, each paying the profiler's cost",
                fix=f"use {MAX_SAMPLE_RATE:g} or less in production "
                f"({Settings.sample_rate:g} is the default); "
                "slow requests are kept anyway through slow_ms",
            )
        )
    else:
        checks.append(Check("sample_rate", "ok", f"sample_rate = {settings.sample_rate:g}"))
    if settings.slow_ms == 0:
        checks.append(Check("slow_ms", "info", "slow-request capture is off (slow_ms = 0)"))
    elif settings.slow_ms < MIN_SLOW_MS:
        checks.append(
            Check(
                "slow_ms",
                "warn",
                f"slow_ms = {settings.slow_ms:g}: stacks are sampled in every request after "
                f"{settings.slow_ms / 2:g} ms and ordinary requests use up the capture budget",
                fix=f"use {MIN_SLOW_MS:g} ms or more ({Settings.slow_ms:g} is the default)",
            )
        )
    else:
        checks.append(Check("slow_ms", "ok", f"slow_ms = {settings.slow_ms:g}"))
    budget = settings.max_captures_per_minute
    if budget == 0:
        checks.append(
            Check(
                "max_captures_per_minute",
                "warn",
                "max_captures_per_minute = 0: no request is ever captured, "
                "but slow-request watching still runs",
                fix=f"set a budget ({Settings.max_captures_per_minute} is the default), "
                "or enabled = false to switch profiling off",
            )
        )
    elif budget > MAX_CAPTURES_PER_MINUTE:
        checks.append(
            Check(
                "max_captures_per_minute",
                "warn",
                f"max_captures_per_minute = {budget}: up to {budget / 60:g} captures per second "
                "per process, each written to the store",
                fix=f"use {MAX_CAPTURES_PER_MINUTE} or less "
                f"({Settings.max_captures_per_minute} is the default)",
            )
        )
    else:
        checks.append(
            Check(
                "max_captures_per_minute",
                "ok",
                f"max_captures_per_minute = {budget} per process",
            )
        )
    checks += _memory_checks(settings)
    if settings.capture_query_string:
        checks.append(
            Check(
                "capture_query_string",
                "warn",
                "capture_query_string = true: query strings, which often carry tokens and "
                "personal data, are stored with captures",
                fix="set capture_query_string = false unless you need it",
            )
        )
    if not settings.retention_max_captures and not settings.retention_max_bytes:
        checks.append(
            Check(
                "retention",
                "warn",
                "retention_max_captures and retention_max_bytes are both 0: the store grows "
                "without bound",
                fix=f"set either (defaults: {Settings.retention_max_captures} captures, "
                f"{Settings.retention_max_bytes} bytes)",
            )
        )
    else:
        bounds = [
            f"{settings.retention_max_captures} captures"
            if settings.retention_max_captures
            else "",
            format_bytes(settings.retention_max_bytes) if settings.retention_max_bytes else "",
        ]
        checks.append(
            Check("retention", "ok", "apps keep at most " + " and ".join(b for b in bounds if b))
        )
    if settings.queue_size == 0:
        checks.append(
            Check(
                "queue_size",
                "warn",
                "queue_size = 0 makes the background writer's queue unbounded",
                fix=f"set a bound ({Settings.queue_size} is the default)",
            )
        )
    return checks


def _trigger_check(settings: Settings, source: str | None) -> Check:
    secret = settings.trigger_secret
    if not secret:
        return Check(
            "trigger",
            "info",
            f"on-demand trigger is off (no trigger_secret): {settings.trigger_header} headers "
            "are ignored",
        )
    details = {"secret_length": len(secret), "header": settings.trigger_header}
    weakness = secret_weakness(secret)
    if weakness is not None:
        return Check(
            "trigger",
            "warn",
            f"{weakness}: a short secret can be guessed offline from one token",
            fix=f"use at least {MIN_SECRET_HEX_DIGITS} random hex digits: {_RANDOM_HEX_COMMAND}",
            details=details,
        )
    if source is not None and source.endswith("pyproject.toml"):
        return Check(
            "trigger",
            "warn",
            f"trigger_secret is set in {source}, where it is committed with the code",
            fix="set it through PROFILER_KIT_TRIGGER_SECRET from your secret store instead",
            details=details,
        )
    return Check(
        "trigger",
        "ok",
        f"on-demand trigger is on: {settings.trigger_header} tokens signed with a "
        f"{len(secret)}-character secret",
        details=details,
    )


def _memory_checks(settings: Settings) -> list[Check]:
    checks = []
    rate = settings.memory_sample_rate
    if rate > MAX_MEMORY_SAMPLE_RATE:
        applies = "" if settings.memory else " (takes effect once memory = true)"
        checks.append(
            Check(
                "memory_sample_rate",
                "warn",
                f"memory_sample_rate = {rate:g}{applies}: memray slows a tracked request "
                "several times and tracks one request per process at a time",
                fix=f"use {MAX_MEMORY_SAMPLE_RATE:g} or less "
                f"({Settings.memory_sample_rate:g} is the default)",
            )
        )
    else:
        state = "on" if settings.memory else "off (memory = false)"
        checks.append(
            Check(
                "memory_sample_rate", "ok", f"memory_sample_rate = {rate:g}; memory capture {state}"
            )
        )
    if settings.memory and settings.memory_max_s == 0:
        checks.append(
            Check(
                "memory_max_s",
                "warn",
                "memory_max_s = 0: a hanging request can hold the process's only memray "
                "tracker for as long as it runs",
                fix=f"set a limit ({Settings.memory_max_s:g} s is the default)",
            )
        )
    return checks
