"""Capture policies of the Flask plugin, end to end under gunicorn.

Each test starts gunicorn with the test app, sends requests, then stops the
server (which flushes every worker's writer) and compares the captures in the
store with the requests that should have produced them: exactly those, once
each, with the Flask route template, status and reason.
"""

from __future__ import annotations

import secrets
import time

from profiler_kit.web.tokens import make_token

TOKEN_HEADER = "X-Profiler-Kit-Token"
ITEM_ROUTE = "/items/<int:item_id>"


def _key(capture):  # type: ignore[no-untyped-def]
    return (capture.method, capture.route, capture.path, capture.status, capture.reason)


def test_sample_rate_one_captures_every_request_with_route_template(flask_servers) -> None:
    """SAMPLE_RATE=1 captures each request exactly once, reason "sampled", route as a template."""
    requests = [
        ("/hello", "/hello"),
        ("/items/7", ITEM_ROUTE),
        ("/items/42", ITEM_ROUTE),
        ("/sleep/5", "/sleep/<int:ms>"),
    ]
    with flask_servers.serve(sample_rate=1, slow_ms=0) as app:
        statuses = [app.get(path).status for path, _ in requests]
        live = app.wait_for(len(requests))
        assert len(live) == len(requests), "captures must reach the store while serving"
    assert statuses == [200] * len(requests)
    captures = app.captures()
    expected = [("GET", route, path, 200, "sampled") for path, route in requests]
    assert sorted(map(_key, captures)) == sorted(expected)
    (worker,) = app.worker_stats()
    assert {c.pid for c in captures} == {worker}
    assert all(c.extra["framework"] == "flask" for c in captures)
    assert all(c.wall_s > 0 for c in captures)


def test_sample_rate_zero_captures_nothing_and_ignores_tokens_without_secret(
    flask_servers,
) -> None:
    """SAMPLE_RATE=0 (no slow watch, no secret) captures nothing, even with a trigger token."""
    token = make_token(secrets.token_hex(16), 60)
    with flask_servers.serve(sample_rate=0, slow_ms=0) as app:
        replies = [app.get(path) for path in ("/hello", "/items/1", "/items/2")]
        replies.append(app.get("/items/3", {TOKEN_HEADER: token}))
    assert [r.status for r in replies] == [200] * 4
    assert app.captures() == []
    (counters,) = (s["counters"] for s in app.worker_stats().values())
    assert counters.get("captures.written", 0) == 0
    assert counters.get("trigger.ignored_no_secret") == 1


def test_slow_requests_are_captured_with_their_hot_function(flask_servers) -> None:
    """SAMPLE_RATE=0, SLOW_MS=200: only requests over 200 ms are kept ("slow"), with a profile."""
    slow_ms = 200
    sleep_ms, burn_ms = 500, 600
    with flask_servers.serve(sample_rate=0, slow_ms=slow_ms) as app:
        replies = [
            app.get("/hello"),
            app.get("/sleep/20"),
            app.get(f"/sleep/{sleep_ms}"),
            app.get(f"/cpu/{burn_ms}"),
        ]
        app.wait_for(2)
    assert [r.status for r in replies] == [200] * 4
    captures = app.captures()
    assert sorted(map(_key, captures)) == sorted(
        [
            ("GET", "/sleep/<int:ms>", f"/sleep/{sleep_ms}", 200, "slow"),
            ("GET", "/cpu/<int:ms>", f"/cpu/{burn_ms}", 200, "slow"),
        ]
    )
    by_path = {c.path: c for c in captures}
    assert by_path[f"/sleep/{sleep_ms}"].wall_s >= sleep_ms / 1000
    cpu_capture = by_path[f"/cpu/{burn_ms}"]
    assert cpu_capture.wall_s >= burn_ms / 1000
    # The endpoint burns burn_ms of its thread's CPU time: the capture must account for it.
    assert cpu_capture.cpu_s >= burn_ms / 1000
    assert by_path[f"/sleep/{sleep_ms}"].cpu_s < burn_ms / 1000 / 2
    frames = app.view(cpu_capture.id).tree.frames
    hot = [f for f in frames if f.name == "burn_cpu_hot_loop"]
    assert hot, f"burn_cpu_hot_loop missing from the slow capture: {[f.name for f in frames]}"
    assert hot[0].file.endswith("flask_app_under_test.py")


def test_trigger_token_captures_only_valid_tokens(flask_servers) -> None:
    """With a secret set, only requests carrying a valid token are captured, reason "triggered"."""
    secret = secrets.token_hex(16)
    tokens = {
        "/items/1": None,
        "/items/2": make_token(secret, 60),
        "/items/3": make_token(secret + "-wrong", 60),  # forged
        "/items/4": make_token(secret, 60, now=time.time() - 180),  # expired
        "/items/5": "not-a-token",  # malformed
        "/items/6": make_token(secret, 60),
    }
    with flask_servers.serve(sample_rate=0, slow_ms=0, trigger_secret=secret) as app:
        replies = [
            app.get(path, {TOKEN_HEADER: token} if token else None)
            for path, token in tokens.items()
        ]
        app.wait_for(2)
    assert [r.status for r in replies] == [200] * len(tokens)
    captures = app.captures()
    assert sorted(map(_key, captures)) == [
        ("GET", ITEM_ROUTE, "/items/2", 200, "triggered"),
        ("GET", ITEM_ROUTE, "/items/6", 200, "triggered"),
    ]
    (counters,) = (s["counters"] for s in app.worker_stats().values())
    assert (counters.get("trigger.forged"), counters.get("trigger.expired")) == (1, 1)
    assert counters.get("trigger.malformed") == 1


def test_excluded_paths_are_never_captured(flask_servers) -> None:
    """EXCLUDE_PATHS="/health*", SAMPLE_RATE=1: /health, /health/deep, /healthz are left alone."""
    excluded = ["/health", "/health/deep", "/healthz"]
    kept = [("/hello", "/hello"), ("/items/9", ITEM_ROUTE)]
    with flask_servers.serve(sample_rate=1, slow_ms=0, exclude_paths="/health*") as app:
        replies = [app.get(path) for path in excluded] + [app.get(path) for path, _ in kept]
        app.wait_for(len(kept))
    assert [r.status for r in replies] == [200] * len(replies)
    assert [r.body for r in replies[: len(excluded)]] == [b"ok"] * len(excluded)
    captures = app.captures()
    assert sorted(map(_key, captures)) == sorted(
        ("GET", route, path, 200, "sampled") for path, route in kept
    )


def test_capture_budget_caps_captures_not_requests(flask_servers) -> None:
    """MAX_CAPTURES_PER_MINUTE=3, 1 worker, 10 requests: all served 200, exactly 3 captured."""
    budget, total = 3, 10
    with flask_servers.serve(sample_rate=1, slow_ms=0, max_captures_per_minute=budget) as app:
        replies = [app.get(f"/items/{n}") for n in range(total)]
        app.wait_for(budget)
    assert [r.status for r in replies] == [200] * total
    captures = app.captures()
    assert len(captures) == budget
    # The bucket starts full and refills 3/min: the first three requests got the tokens.
    assert sorted(c.path for c in captures) == [f"/items/{n}" for n in range(budget)]
    assert all(c.reason == "sampled" and c.route == ITEM_ROUTE for c in captures)
    (counters,) = (s["counters"] for s in app.worker_stats().values())
    assert counters.get("skipped.over_budget") == total - budget


def test_error_statuses_are_captured_and_responses_unchanged(
    flask_servers, reference_responses, response_key
) -> None:
    """abort(404), an unknown URL and an unhandled exception: captures carry 404/500, responses
    are identical to the app with PROFILER_KIT_ENABLED=false."""
    requests = [
        ("/missing/thing", "/missing/<name>", 404),
        ("/no/such/page", None, 404),
        ("/boom", "/boom", 500),
        ("/hello", "/hello", 200),
    ]
    paths = [path for path, _, _ in requests]
    reference = reference_responses(paths)
    with flask_servers.serve(sample_rate=1, slow_ms=0) as app:
        replies = {path: response_key(app.get(path)) for path in paths}
        app.wait_for(len(requests))
    assert replies == reference
    assert [reference[path][0] for path in paths] == [status for _, _, status in requests]
    captures = app.captures()
    assert sorted(map(_key, captures), key=repr) == sorted(
        (("GET", route, path, status, "sampled") for path, route, status in requests), key=repr
    )


def test_exception_propagating_to_gunicorn_is_captured_as_500(
    flask_servers, reference_responses, response_key
) -> None:
    """PROPAGATE_EXCEPTIONS: an error escaping the app is re-raised unchanged, captured as 500."""
    env = {"PROPAGATE_EXCEPTIONS": "1"}
    paths = ["/boom", "/hello"]
    reference = reference_responses(paths, extra_env=env)
    with flask_servers.serve(sample_rate=1, slow_ms=0, extra_env=env) as app:
        replies = {path: response_key(app.get(path)) for path in paths}
        app.wait_for(len(paths))
    assert replies == reference
    assert reference["/boom"][0] == 500
    assert app.output().count("injected application error") >= 1, "gunicorn saw the exception"
    captures = {c.path: c for c in app.captures()}
    assert sorted(captures) == sorted(paths)
    assert (captures["/boom"].route, captures["/boom"].status) == ("/boom", 500)
    assert captures["/boom"].extra.get("error") is True
    assert (captures["/hello"].status, "error" in captures["/hello"].extra) == (200, False)
