"""The on-demand trigger: signed tokens in X-Profiler-Kit-Token, and only valid ones count."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from profiler_kit.web.tokens import make_token

HEADER = "X-Profiler-Kit-Token"
SECRET = "trigger-secret-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def trigger_server(launcher: Any) -> Iterator[Any]:
    """A secret configured; no sampling and no slow watch, so only the trigger captures."""
    settings = {"sample_rate": "0", "slow_ms": "0", "trigger_secret": SECRET}
    with launcher.run("trigger", settings) as server:
        yield server


@pytest.fixture(scope="module")
def no_secret_server(launcher: Any) -> Iterator[Any]:
    """No secret configured; no sampling and no slow watch."""
    with launcher.run("no-secret", {"sample_rate": "0", "slow_ms": "0"}) as server:
        yield server


def _with_new_signature_char(token: str) -> str:
    """The token with one character in the middle of its signature changed."""
    head, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def _with_later_expiry(token: str) -> str:
    """The token with its expiry pushed back and the original signature kept."""
    prefix, expiry, nonce, signature = token.split(".")
    return f"{prefix}.{int(expiry) + 3600}.{nonce}.{signature}"


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "expired": lambda: make_token(SECRET, 10, now=time.time() - 20),
    "forged-signature": lambda: _with_new_signature_char(make_token(SECRET, 60)),
    "forged-expiry": lambda: _with_later_expiry(make_token(SECRET, 60)),
    "truncated": lambda: make_token(SECRET, 60)[:-5],
    "signature-dropped": lambda: make_token(SECRET, 60).rpartition(".")[0],
    "other-secret": lambda: make_token("some-other-secret", 60),
    "garbage": lambda: "garbage",
    "garbage-four-parts": lambda: "pk1.soon.nonce.signature",
    "oversized": lambda: make_token(SECRET, 60) + "A" * 300,
}


def test_valid_token_triggers_a_capture(trigger_server: Any, uid: Callable[[], int]) -> None:
    """SAMPLE_RATE=0 with a secret: a make_token(secret, 60) header is captured as "triggered"."""
    path = f"/items/{uid()}"
    untriggered = f"/items/{uid()}"
    assert trigger_server.get(path, {HEADER: make_token(SECRET, 60)}).status == 200
    assert trigger_server.get(untriggered).status == 200
    trigger_server.flush()
    captures = trigger_server.for_path(path)
    assert len(captures) == 1, captures
    assert (captures[0].reason, captures[0].route, captures[0].status) == (
        "triggered",
        "/items/{item_id}",
        200,
    )
    assert trigger_server.for_path(untriggered) == []


def test_token_is_ignored_when_no_secret_is_configured(
    no_secret_server: Any, uid: Callable[[], int]
) -> None:
    """Without a secret, a well-formed token header neither captures nor changes the response."""
    path = f"/items/{uid()}"
    plain = no_secret_server.get(path)
    tokened = no_secret_server.get(path, {HEADER: make_token("guessed-secret", 60)})
    assert (tokened.status, tokened.body) == (plain.status, plain.body) == (200, plain.body)
    no_secret_server.flush()
    assert no_secret_server.for_path(path) == []


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
def test_invalid_token_is_not_captured_and_request_is_served(
    trigger_server: Any, uid: Callable[[], int], kind: str
) -> None:
    """Expired, forged, truncated, other-secret, garbage tokens: no capture, normal 200 reply."""
    path = f"/items/{uid()}"
    plain = trigger_server.get(path)
    tokened = trigger_server.get(path, {HEADER: BAD_TOKENS[kind]()})
    assert plain.status == 200
    assert (tokened.status, tokened.body) == (plain.status, plain.body)
    trigger_server.flush()
    assert trigger_server.for_path(path) == []
