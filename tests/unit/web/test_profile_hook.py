"""pyinstrument and memray never share the profile hook across concurrent requests.

Found by the soak: on one event loop, a request profiled by pyinstrument that
started while another held memray made memray restore a stale hook when it
stopped; every later memory capture of the process then failed.
"""

from __future__ import annotations

from profiler_kit.errors import MemoryBusyError
from profiler_kit.web.engines import RequestEngines, profile_hook


def test_memory_waits_for_profilers_and_profilers_yield_to_memory() -> None:
    cpu = RequestEngines()
    cpu.start_full(memory=False)
    assert cpu.profiler is not None and profile_hook.profilers == 1

    refused = RequestEngines()
    refused.start_full(memory=True)
    assert isinstance(refused.memory_error, MemoryBusyError)
    assert refused.tracker is None
    refused.stop()
    cpu.stop()
    assert profile_hook.profilers == 0

    for _ in range(3):  # memray keeps working after each round
        memory = RequestEngines()
        memory.start_full(memory=True)
        assert memory.tracker is not None, memory.memory_error
        during = RequestEngines()
        during.start_full(memory=False)
        assert during.profiler is None and during.sampled  # sampled by the hub
        during.stop()
        memory.stop()
        memory.tracker.discard()
    assert profile_hook.profilers == 0
