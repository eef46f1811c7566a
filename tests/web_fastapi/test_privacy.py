"""What a capture must never store: query strings (unless asked), cookies, credentials."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

PASSWORD = "hunter2"
COOKIE_VALUE = "cookie-" + secrets.token_hex(8)
AUTH_VALUE = "auth-" + secrets.token_hex(8)
NEEDLES = (PASSWORD, COOKIE_VALUE, AUTH_VALUE)
HEADERS = {"Cookie": f"session={COOKIE_VALUE}", "Authorization": f"Bearer {AUTH_VALUE}"}
QUERY = f"password={PASSWORD}&page=2"


@pytest.fixture(scope="module")
def query_server(launcher: Any) -> Iterator[Any]:
    """Every request sampled, with the query string recorded."""
    settings = {"sample_rate": "1", "slow_ms": "0", "capture_query_string": "true"}
    with launcher.run("query", settings) as server:
        yield server


def _send_secrets(server: Any, path: str) -> None:
    reply = server.get(f"{path}?{QUERY}", HEADERS)
    assert reply.status == 200
    # The app saw all three secrets, so they really were part of the request.
    seen = json.loads(reply.body)
    assert (seen["password"], seen["cookie"], seen["authorization"]) == (True, True, True)


def _leaks(server: Any, capture: Any) -> list[str]:
    """Secrets found in the summary, the full capture or any column of the stored row."""
    texts = [json.dumps(dataclasses.asdict(capture), default=str)]
    full = server.full(capture.id)
    texts.append(json.dumps(dataclasses.asdict(full), default=repr))
    for column, values in server.raw_row_texts(capture.id).items():
        texts.extend(f"{column}={value}" for value in values)
    return [needle for needle in NEEDLES for text in texts if needle in text]


def test_capture_stores_no_query_string_cookie_or_authorization(
    sampled_server: Any, uid: Callable[[], int]
) -> None:
    """By default no part of a capture holds the query string, Cookie or Authorization values."""
    path = f"/private/{uid()}"
    _send_secrets(sampled_server, path)
    sampled_server.flush()
    captures = sampled_server.for_path(path)
    assert len(captures) == 1, sampled_server.captures(lambda c: "/private/" in (c.path or ""))
    capture = captures[0]
    assert (capture.path, capture.route) == (path, "/private/{n}")
    assert "query" not in capture.extra
    # Make sure the payloads were really searched: the profile decompresses to JSON.
    row = sampled_server.raw_row_texts(capture.id)
    assert any('"format":"profiler-kit/cpu-1"' in text for text in row["cpu_profile"])
    assert _leaks(sampled_server, capture) == []


def test_query_string_is_recorded_only_when_enabled(
    query_server: Any, uid: Callable[[], int]
) -> None:
    """CAPTURE_QUERY_STRING=true: extra["query"] holds the query; path and cookies stay clean."""
    path = f"/private/{uid()}"
    _send_secrets(query_server, path)
    query_server.flush()
    captures = query_server.for_path(path)
    assert len(captures) == 1, captures
    capture = captures[0]
    assert capture.extra["query"] == QUERY
    assert capture.path == path
    leaked = set(_leaks(query_server, capture))
    assert leaked == {PASSWORD}  # only through the query string that was asked for
