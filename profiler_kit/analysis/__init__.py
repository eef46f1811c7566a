"""Reading captures back: call trees, per-route aggregation, latency sketches.

Everything that reports, exports and ``check`` share once a capture has left
the store: ``sources`` reads the chosen captures of several stores as one
stream, ``capture_view`` decodes one capture, ``calltree`` builds and walks
call trees, ``aggregate`` folds many captures by route, ``durations`` keeps
latency percentiles in bounded memory.
"""
