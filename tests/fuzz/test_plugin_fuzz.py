"""Fuzzing what reaches the plugins: methods, paths, query strings and headers.

The WSGI and ASGI middlewares wrap a tiny app and profile every request
(``sample_rate=1``). For any request the app's response must be exactly what
the app alone answers, no exception may escape, the stats must not count a
failure for merely odd input, and the stored capture must carry the path as
the app saw it, without the query string, and only for paths the
include/exclude patterns choose.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fuzzkit
import pytest
from fuzzkit import fuzz_settings
from hypothesis import event, given
from hypothesis import strategies as st

from profiler_kit.testing import read_captures
from profiler_kit.web.asgi import ProfilerMiddleware as AsgiMiddleware
from profiler_kit.web.tokens import make_token
from profiler_kit.web.wsgi import ProfilerMiddleware as WsgiMiddleware

SECRET = "fuzz-secret"
TOKEN_HEADER = "X-Profiler-Kit-Token"
_services = itertools.count()

latin1 = st.binary(max_size=60).map(lambda b: b.decode("latin-1"))
unicode_text = st.text(st.characters(codec="utf-8"), max_size=60)
paths = st.one_of(
    st.builds(lambda s: "/" + s, unicode_text),
    st.builds(lambda s: "/" + s, latin1),
    unicode_text,  # no leading slash, or empty
    st.sampled_from(["", "/", "//", "/a/../b", "/%00", "/\x00", "/\r\nSet-Cookie: x", "/?q=1",
                     "/" + "\u2028", "/api/items/1", "/static/app.js"]),
    st.integers(10_000, 200_000).map(lambda n: "/" + "a" * n),
)  # fmt: skip
methods = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "get", ""]),
    latin1,
)
patterns = st.lists(
    st.one_of(
        st.sampled_from(["/api/*", "/static/*", "*", "/[a-z]*", "/[!a]*", "*?*", "/a/[", "\\"]),
        unicode_text,
    ),
    max_size=3,
)
token_values = st.one_of(
    latin1,
    st.just("valid"),
    st.just("expired"),
    st.builds(lambda s: f"pk1.{s}", latin1),
    st.integers(257, 20_000).map(lambda n: "x" * n),
)


def _token(kind: str) -> str:
    if kind == "valid":
        return make_token(SECRET, 600)
    if kind == "expired":
        return make_token(SECRET, 1, now=1_000_000.0)
    return kind


@pytest.fixture(scope="module")
def store() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pk-fuzz-plugins-") as directory:
        yield Path(directory) / "captures.sqlite3"


def _settings(store: Path, data: st.DataObject) -> dict[str, Any]:
    return {
        "store": store,
        "service": f"fuzz-{next(_services)}",
        "sample_rate": 1.0,
        "max_captures_per_minute": 10**9,
        "include_paths": tuple(data.draw(patterns, label="include")),
        "exclude_paths": tuple(data.draw(patterns, label="exclude")),
        "trigger_secret": data.draw(st.sampled_from(["", SECRET]), label="secret"),
        "capture_query_string": data.draw(st.booleans(), label="capture_query_string"),
    }


def _wanted(path: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    if include and not any(fnmatch.fnmatchcase(path, p) for p in include):
        return False
    return not any(fnmatch.fnmatchcase(path, p) for p in exclude)


def _no_failures(middleware: Any) -> None:
    for stats in (middleware.stats, middleware.recorder.writer.stats):
        failures = {k: v for k, v in stats.snapshot().items() if k.startswith(("error.", "drop"))}
        assert not failures, failures
    for name, count in middleware.stats.snapshot().items():
        if count:
            event(f"stat: {name}")


def _check_capture(
    store: Path, middleware: Any, path: str, method: str, query: str, settings: dict[str, Any]
) -> None:
    assert middleware.recorder.flush(20.0), "the writer did not drain its queue"
    service = settings["service"]
    captures = read_captures(store, where=lambda c: c.service == service)
    # Patterns as the settings keep them (stripped; empty ones dropped).
    chosen = middleware.recorder.settings
    expected = _wanted(path, chosen.include_paths, chosen.exclude_paths)
    assert len(captures) == (1 if expected else 0), (path, settings, captures)
    if not captures:
        event("not captured (include/exclude)")
        return
    capture = captures[0]
    event("captured")
    assert capture.path == path, (capture.path, path)
    assert capture.method == method
    if settings["capture_query_string"] and query:
        assert capture.extra.get("query") == query
    else:
        assert "query" not in capture.extra


# -- WSGI --------------------------------------------------------------------------------


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    seen = {
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "query": environ.get("QUERY_STRING"),
        "headers": sorted((k, v) for k, v in environ.items() if k.startswith("HTTP_")),
    }
    body = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("X-Seen", str(len(body)))])
    return [body[:7], body[7:]]


def call_wsgi(app: Any, environ: dict[str, Any]) -> tuple[str, list[Any], bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = status, list(headers)

    body = app(dict(environ), start_response)
    try:
        chunks = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return answer["status"], answer["headers"], chunks


header_names = st.text(
    st.characters(codec="latin-1", exclude_characters="\x00"), min_size=1, max_size=20
).map(lambda name: "HTTP_" + name.upper().replace("-", "_"))


@given(
    data=st.data(),
    path=paths,
    method=methods,
    query=latin1,
    headers=st.dictionaries(header_names, latin1, max_size=4),
    token=st.none() | token_values,
)
@fuzz_settings(weight=1.0)
def test_wsgi_middleware(
    store: Path,
    data: st.DataObject,
    path: str,
    method: str,
    query: str,
    headers: dict[str, str],
    token: str | None,
) -> None:
    settings = _settings(store, data)
    middleware = WsgiMiddleware(wsgi_app, **settings)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "fuzz",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        **headers,
    }
    if token is not None:
        environ["HTTP_X_PROFILER_KIT_TOKEN"] = _token(token)
    with fuzzkit.hard_timeout(60, f"WSGI request to {path[:80]!r}"):
        expected = call_wsgi(wsgi_app, environ)
        assert call_wsgi(middleware, environ) == expected
    _no_failures(middleware)
    _check_capture(store, middleware, path or "/", method, query, settings)


# -- ASGI --------------------------------------------------------------------------------


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    seen = {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode("latin-1"),
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
    }
    body = json.dumps(seen).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body[:7], "more_body": True})
    await send({"type": "http.response.body", "body": body[7:]})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def call_asgi(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(app(dict(scope), _receive, send))
    return sent


asgi_header_names = st.binary(min_size=1, max_size=20).map(bytes.lower)


@given(
    data=st.data(),
    path=paths,
    method=methods,
    query=st.binary(max_size=60),
    headers=st.lists(st.tuples(asgi_header_names, st.binary(max_size=60)), max_size=4),
    token=st.none() | token_values,
)
@fuzz_settings(weight=1.0)
def test_asgi_middleware(
    store: Path,
    data: st.DataObject,
    path: str,
    method: str,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
    token: str | None,
) -> None:
    settings = _settings(store, data)
    middleware = AsgiMiddleware(asgi_app, **settings)
    if token is not None:
        headers = [*headers, (TOKEN_HEADER.lower().encode(), _token(token).encode("latin-1"))]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }
    with fuzzkit.hard_timeout(60, f"ASGI request to {path[:80]!r}"):
        expected = call_asgi(asgi_app, scope)
        assert call_asgi(middleware, scope) == expected
    _no_failures(middleware)
    _check_capture(store, middleware, path, method, query.decode("latin-1"), settings)
