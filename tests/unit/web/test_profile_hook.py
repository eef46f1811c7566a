"""pyinstrument and memray never share the profile hook across concurrent requests.

Found by the soak: on one event loop, a request profiled by pyinstrument that
started while another held memray made memray restore a stale hook when it
stopped; every later memory capture of the process then failed.
"""

from __future__ import annotations

from profiler_kit.errors import MemoryBusyError
from profiler_kit.web.engines import RequestEngines, profile_hook


def _engines(engine: str) -> RequestEngines:
    engines = RequestEngines()
    engines.engine = engine
    return engines


def test_memory_waits_for_profilers_and_profilers_yield_to_memory() -> None:
    """With ``request_engine = "pyinstrument"``, the hook is shared in turns."""
    cpu = _engines("pyinstrument")
    cpu.start_full(memory=False)
    assert cpu.profiler is not None and profile_hook.profilers == 1

    refused = _engines("pyinstrument")
    refused.start_full(memory=True)
    assert isinstance(refused.memory_error, MemoryBusyError)
    assert refused.tracker is None
    refused.stop()
    cpu.stop()
    assert profile_hook.profilers == 0

    for _ in range(3):  # memray keeps working after each round
        memory = _engines("pyinstrument")
        memory.start_full(memory=True)
        assert memory.tracker is not None, memory.memory_error
        during = _engines("pyinstrument")
        during.start_full(memory=False)
        assert during.profiler is None and during.sampled  # sampled by the hub
        during.stop()
        memory.stop()
        memory.tracker.discard()
    assert profile_hook.profilers == 0


def test_the_sampler_engine_leaves_the_hook_to_memray() -> None:
    """By default a CPU profile never takes the hook, so memory is never refused for it."""
    cpu = RequestEngines()
    cpu.start_full(memory=False)
    assert cpu.profiler is None and cpu.sampled and profile_hook.profilers == 0
    memory = RequestEngines()
    memory.start_full(memory=True)
    try:
        assert memory.tracker is not None, memory.memory_error
    finally:
        memory.stop()
        cpu.stop()
        if memory.tracker is not None:
            memory.tracker.discard()
