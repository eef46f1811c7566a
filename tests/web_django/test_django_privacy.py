"""Secrets in a request's query string, cookies and Authorization header never reach the store."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from profiler_kit.store.blob import unpack
from profiler_kit.testing import stored_texts

NewId = Callable[[], int]
SERVER_KINDS = ("gunicorn", "uvicorn")


@pytest.fixture(scope="module", params=SERVER_KINDS)
def server(request: pytest.FixtureRequest, django_servers: Any) -> Iterator[Any]:
    env = {"PROFILER_KIT_SAMPLE_RATE": "1", "PROFILER_KIT_MAX_CAPTURES_PER_MINUTE": "100000"}
    with django_servers.start(request.param, env) as started:
        yield started


def test_query_cookie_and_authorization_values_are_not_stored(server: Any, new_id: NewId) -> None:
    """The raw row (every column, cpu_profile decompressed) holds no password, cookie or token."""
    cookie_value = f"sess-{secrets.token_hex(8)}"
    bearer = f"tok-{secrets.token_hex(8)}"
    needles = ["hunter2", cookie_value, bearer]
    path = f"/private/{new_id()}"
    reply = server.get(
        f"{path}?password=hunter2&user=alice",
        headers={"Cookie": f"sessionid={cookie_value}", "Authorization": f"Bearer {bearer}"},
    )
    assert (reply.status, reply.body) == (200, f"private {path.rsplit('/', 1)[1]} 3".encode())
    (capture,) = server.wait_for_path(path)

    db = sqlite3.connect(f"file:{server.store}?mode=ro", uri=True)
    try:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM captures WHERE id = ?", (capture.id,)).fetchone()
    finally:
        db.close()
    assert row is not None
    assert row["cpu_profile"], "the capture has a CPU profile to search"
    decompressed = unpack(row["cpu_profile"]).decode()
    # The view's own work is in it: the right payload was searched.
    assert "pkt_private_view_work" in decompressed
    leaks = {
        (column, needle)
        for column, texts in stored_texts(server.store, capture.id).items()
        for text in texts
        for needle in needles
        if needle in text
    }
    assert leaks == set()
    assert row["path"] == path
