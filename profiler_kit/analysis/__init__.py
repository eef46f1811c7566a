"""Reading captures back: call trees, per-route aggregation, latency sketches.

Everything that reports, exports and ``check`` share once a capture has left
the store: ``capture_view`` decodes one capture, ``calltree`` builds and
walks call trees, ``aggregate`` folds many captures by route, ``durations``
keeps latency percentiles in bounded memory.
"""
