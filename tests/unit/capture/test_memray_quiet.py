"""memray's notices stay out of the host app's stderr.

Where memray has to fix up the C library's symbols (Debian's Python 3.13), it
printed a warning at every tracker start: one line per memory capture in a
server's log.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from profiler_kit.capture.memory import memory_unavailable_reason

pytestmark = pytest.mark.skipif(
    memory_unavailable_reason() is not None, reason="memray is not available here"
)

THREE_CAPTURES = textwrap.dedent(
    """
    import memray
    from profiler_kit.capture.memory import MemoryTracker

    for _ in range(3):
        tracker = MemoryTracker()
        tracker.start()
        data = [bytes(1000) for _ in range(100)]
        tracker.stop()
        tracker.discard()
    """
)


def test_memory_captures_print_nothing_to_stderr() -> None:
    """Three tracker starts and stops in a fresh process print nothing at all."""
    done = subprocess.run(
        [sys.executable, "-c", THREE_CAPTURES], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_memray_errors_still_print() -> None:
    """Only notices are silenced: memray's log threshold is ERROR, not off."""
    probe = THREE_CAPTURES + textwrap.dedent(
        """
        import logging
        from unittest import mock

        with mock.patch.object(memray, "set_log_level") as set_level:
            import profiler_kit.capture.memory as memory
            memory._memray_quieted = False
            tracker = MemoryTracker()
            tracker.start()
            tracker.stop()
            tracker.discard()
        assert set_level.call_args.args == (logging.ERROR,), set_level.call_args
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
