"""Django's test ``Client``: one capture per request, nothing left running.

Django's test client closes a plain response at once, and a streamed one only
once the test has read its body to the end; a test that checks the status of
a ``StreamingHttpResponse`` and drops it never closes it, and the capture
(and its profiler) used to stay open for good. Now the next request on the
same thread ends it, or the exit. Each scenario runs in a child
process (``client_scenario.py`` beside this file), since what happens at
exit is part of the check; the child reports what it saw once the responses
were dropped, then keeps one more response until exit.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from client_scenarios import REQUESTS, assert_nothing_running, run_scenario

from profiler_kit.testing import read_captures

SCENARIO = Path(__file__).with_name("client_scenario.py")


@pytest.mark.parametrize("url", ["/", "/stream"])
def test_django_test_client(tmp_path: Path, url: str) -> None:
    """For ``/stream`` the child sends one request to ``/`` after the streams: the
    next request on the thread ends the last stream left unread."""
    report, store = run_scenario(SCENARIO, url, tmp_path, unset=["DJANGO_SETTINGS_MODULE"])
    extra = 1 if url == "/stream" else 0
    assert report["captures"] == REQUESTS + extra
    assert_nothing_running(report)
    captures = read_captures(store)
    assert len(captures) == REQUESTS + extra + 1  # the one kept until exit is captured too
    assert sum(c.path == url for c in captures) == REQUESTS + 1
    assert {(c.status, c.reason) for c in captures} == {(200, "sampled")}
