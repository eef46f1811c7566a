"""Privacy: credentials sent with a request never reach the capture store."""

from __future__ import annotations

import json
import secrets

from profiler_kit.store.blob import unpack
from profiler_kit.testing import stored_texts


def test_query_cookie_and_authorization_never_stored(flask_servers) -> None:
    """?password=..., a Cookie and an Authorization header appear in no column of the raw row."""
    password = "hunter2"
    cookie_value = "cookie-" + secrets.token_hex(12)
    auth_value = "auth-" + secrets.token_hex(12)
    headers = {"Cookie": f"session={cookie_value}", "Authorization": f"Bearer {auth_value}"}
    with flask_servers.serve(sample_rate=1, slow_ms=0) as app:
        reply = app.get(f"/echo?password={password}&user=alice", headers)
        app.wait_for(1)
    assert reply.status == 200
    # The app did receive all three: they went through the profiled request.
    assert json.loads(reply.body) == {
        "args": ["password", "user"],
        "cookies": ["session"],
        "authorization": True,
    }
    (row,) = app.raw_rows()
    assert row["path"] == "/echo"
    assert row["route"] == "/echo"
    assert "?" not in row["target"]
    assert "query" not in json.loads(row["extra"])
    assert row["cpu_profile"], "the capture has a CPU profile to search"
    profile = unpack(row["cpu_profile"])
    assert b"burn_cpu_hot_loop" in profile, "the searched profile reaches the app's own frames"
    for column, texts in stored_texts(app.store, row["id"]).items():
        for text in texts:
            for secret in (password, cookie_value, auth_value, "password="):
                assert secret not in text, f"{secret!r} stored in column {column}"
