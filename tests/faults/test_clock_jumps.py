"""The wall clock jumping backwards and forwards by an hour while the app runs.

FastAPI under a single uvicorn process, with libfaketime preloaded
(``apt-get install faketime``): ``FAKETIME_TIMESTAMP_FILE`` holds the offset
("-3600s", "+3600s", "+0"), re-read on every clock call (``FAKETIME_NO_CACHE``),
and ``FAKETIME_DONT_FAKE_MONOTONIC=1`` leaves CLOCK_MONOTONIC alone, as a real
clock step (NTP, an operator's ``date -s``) does. Only the server runs under
libfaketime. (uvicorn, not gunicorn: gunicorn's master compares a worker's
heartbeat file's ctime, set by the kernel's real clock, with its faked
``time.time()``, and would kill workers on a forward jump. Python's
``time.sleep`` fails with EINVAL under this libfaketime with the monotonic
clock left alone, so the app must not call it: the fault app does not. And
under libfaketime profiled requests, and ``def`` endpoints profiled or not,
take 0.1-9 s instead of milliseconds: the tests send few of them.)

Checked: the per-minute capture budget counts in monotonic time, so after a
jump it allows exactly its rate (not a fresh minute's worth after +1 h, not
nothing for an hour after -1 h); capture ids stay unique (rows stored == captures
counted as written: the store ignores a duplicate id silently); durations
stay sane; the stored ``started_at`` follows the wall clock, including
captures "from the future"; ``profiler-kit ls`` and ``report`` read such a
store without error.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

LIBFAKETIME = next(
    (
        path
        for path in (
            Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"),
            Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1"),
            Path("/usr/lib/faketime/libfaketimeMT.so.1"),
            Path("/usr/local/lib/faketime/libfaketimeMT.so.1"),
        )
        if path.exists()
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    LIBFAKETIME is None, reason="libfaketime is not installed (apt-get install faketime)"
)

HOUR = 3600.0
PER_MINUTE = 5  # the budget of the first test
WINDOW_S = 60  # policy.Budget.WINDOW_S: the budget counts captures over the last minute
PER_PHASE = 5  # requests per clock setting in the second test; one of them a `def` endpoint
GAP_S = 0.05  # the client's pace
# Under libfaketime (every clock read intercepted, the control file re-read each
# time) a profiled request takes 0.1-9 s on a busy machine, against ~2 ms without:
# the tests send few of them and wait long for each.
SLOW_REQUEST_S = 60.0


@pytest.fixture
def faked_clock(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``(env, set_offset)``: the server environment for libfaketime, and the offset knob."""
    control = tmp_path / "faketime.rc"
    control.write_text("+0\n")

    def set_offset(seconds: float) -> None:
        staged = control.with_suffix(".tmp")
        staged.write_text(f"{seconds:+.0f}s\n")
        staged.replace(control)  # atomic: the server never reads a half-written file

    env = {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(control),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    return env, set_offset


def _admitted_while(app, until: float, label: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Send paced requests until monotonic ``until``: (requests sent, captures admitted)."""
    before = app.state()["counters"].get("skipped.over_budget", 0)
    sent = 0
    while time.monotonic() < until:
        assert app.get(f"/hello?{label}", timeout=SLOW_REQUEST_S).status == 200
        sent += 1
        time.sleep(GAP_S)
    skipped = app.state()["counters"].get("skipped.over_budget", 0) - before
    # The budget decides when a request starts: each was admitted or counted as skipped.
    return sent, sent - skipped


def test_budget_counts_monotonic_time_across_wall_clock_jumps(fault_servers, faked_clock) -> None:
    """The budget (at most N captures in any 60 s, counted in monotonic seconds):

    N captures at once; then +1 h: nothing more within the minute (a wall-clock
    window would see an hour-old minute and admit N again); then -1 h: exactly N
    once the first N are a minute old (a wall-clock window would admit nothing
    for an hour).
    """
    env, set_offset = faked_clock
    with fault_servers.serve("fastapi", extra_env=env, max_captures_per_minute=PER_MINUTE) as app:
        # Spend the budget: requests until one is refused (profiled ones are slow here).
        drain_started = time.monotonic()
        sent = 0
        while not app.state()["counters"].get("skipped.over_budget"):
            assert time.monotonic() - drain_started < 40, "the budget never ran out"
            assert app.get(f"/hello?drain{sent}", timeout=SLOW_REQUEST_S).status == 200
            sent += 1
        drain_ended = time.monotonic()
        admitted = sent - app.state()["counters"]["skipped.over_budget"]
        assert admitted == PER_MINUTE, (sent, admitted)
        set_offset(+HOUR)
        ahead = app.state()["time"] - time.time()
        forward = _admitted_while(app, drain_started + WINDOW_S - 8, "ahead")
        set_offset(-HOUR)
        behind = app.state()["time"] - time.time()
        backward = _admitted_while(app, drain_ended + WINDOW_S + 4, "behind")
        set_offset(0)
        state = app.wait_idle()
        stored = app.captures()

    print(
        f"\ndrain: {sent} requests, {admitted} captured; wall clock +{ahead:.0f} s: "
        f"{forward[0]} requests, {forward[1]} captured; wall clock {behind:.0f} s: "
        f"{backward[0]} requests, {backward[1]} captured"
    )
    assert round(ahead / HOUR) == 1 and round(behind / HOUR) == -1, "libfaketime had no effect"
    assert forward[1] == 0, forward
    assert backward[1] == PER_MINUTE, backward
    assert len(stored) == state["counters"]["captures.written"] == 2 * PER_MINUTE
    assert len({c.id for c in stored}) == len(stored)


def test_captures_across_wall_clock_jumps(fault_servers, faked_clock, store_tools) -> None:
    env, set_offset = faked_clock
    plan = [(0.0, "now"), (-HOUR, "past"), (+HOUR, "future"), (0.0, "back")]
    with fault_servers.serve("fastapi", extra_env=env) as app:
        real = {}
        for offset, label in plan:
            set_offset(offset)
            real[label] = time.time()
            for n in range(PER_PHASE - 1):
                assert app.get(f"/items/{n}?{label}", timeout=SLOW_REQUEST_S).status == 200
            assert app.get("/sync/1", timeout=SLOW_REQUEST_S).status == 200
            app.wait_idle()
        state = app.wait_idle()
        stored = app.captures()
        ls = store_tools.cli("ls", "--store", str(app.store), "--all")
        ls_json = store_tools.cli("ls", "--store", str(app.store), "--all", "--json")
        report = store_tools.cli(
            "report", "--store", str(app.store), "-o", str(app.cwd / "report.html")
        )
        latest = store_tools.cli(
            "report", "--store", str(app.store), "--latest", "-o", str(app.cwd / "latest.html")
        )

    counters = state["counters"]
    total = len(plan) * PER_PHASE
    # Ids unique: every capture counted as written is in the store (a duplicate id
    # would be ignored by INSERT OR IGNORE, silently).
    assert counters["captures.written"] == total == len(stored) == len({c.id for c in stored})
    # started_at is the (faked) wall clock: an hour behind, an hour ahead.
    skews = sorted(round((c.started_at - time.time()) / HOUR) for c in stored)
    assert skews.count(-1) == skews.count(1) == PER_PHASE, skews
    assert skews.count(0) == 2 * PER_PHASE, skews
    # Durations come from the monotonic clock: none is an hour long or negative.
    assert all(0 <= c.wall_s < SLOW_REQUEST_S for c in stored), [c.wall_s for c in stored]
    # The id encodes started_at: the two orders agree, jumps or not.
    by_time = sorted(stored, key=lambda c: (c.started_at, c.id))
    assert [c.id for c in by_time] == sorted(c.id for c in stored)
    # The CLI reads a store with captures "from the future".
    for done in (ls, ls_json, report, latest):
        assert done.returncode == 0, (done.args, done.stderr)
    assert ls.stdout.count("GET /") == total
    assert (app.cwd / "report.html").stat().st_size > 0
    # ls lists newest by wall clock first: the captures from the future lead.
    first_id = ls.stdout.splitlines()[1].split()[0]
    assert first_id == max(stored, key=lambda c: (c.started_at, c.id)).id
