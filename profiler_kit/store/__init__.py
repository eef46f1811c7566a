"""The capture store: one record type, one SQLite file per store, stable ids.

``record`` is the shape of a capture, ``sqlite`` keeps captures in SQLite,
``ids`` makes time-ordered capture ids and ``safejson`` writes JSON that
every reader accepts. The names below are what the rest of the project
opens a store with.
"""

from __future__ import annotations

from profiler_kit.store.sqlite import CaptureSummary, Selection, Store, open_store

__all__ = ["CaptureSummary", "Selection", "Store", "open_store"]
