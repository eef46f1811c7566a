"""Captures chosen from several stores, read as one stream.

Reports and exports take several stores at once (one per worker or host, or
a merged one beside them), and ``profiler-kit collect`` copies captures
between stores, so the same capture can be found in more than one: every
reader here gives it once. Captures are read one batch at a time while their
store is open, so memory does not grow with the number of captures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from profiler_kit.errors import CaptureNotFoundError
from profiler_kit.store import Selection, open_store
from profiler_kit.store.record import Capture

__all__ = ["count_captures", "iter_captures", "iter_selected"]


def iter_selected(
    stores: Sequence[Path],
    selection: Selection | None = None,
    *,
    on_read: Callable[[], None] | None = None,
) -> Iterator[tuple[int, Capture]]:
    """Every capture of ``stores`` matching ``selection``, oldest first per store, each once.

    Yields the index of the store it was read from with it, so that it can be
    read back later. ``on_read`` is called for every capture read, repeats
    included, so a progress bar sized by :func:`count_captures` ends full.
    """
    # Ids are unique within one store; only several stores need remembering them.
    seen: set[str] | None = set() if len(stores) > 1 else None
    for source, path in enumerate(stores):
        with open_store(path, create=False) as store:
            for capture in store.iter_captures(selection):
                if on_read is not None:
                    on_read()
                if seen is not None:
                    if capture.id in seen:
                        continue
                    seen.add(capture.id)
                yield source, capture


def iter_captures(
    stores: Sequence[Path],
    *,
    selection: Selection | None = None,
    capture_ids: Sequence[str] = (),
    latest: bool = False,
) -> Iterator[Capture]:
    """The chosen captures of ``stores``, each once, read one batch at a time.

    With ``capture_ids`` (ids or unique prefixes), exactly those captures,
    each looked up in the stores in order; an id found nowhere raises
    :class:`~profiler_kit.errors.CaptureNotFoundError`. With ``latest``, the
    most recent capture of all the stores. Otherwise every capture matching
    ``selection``, as :func:`iter_selected` reads them. A capture present in
    several stores (or named twice) comes once.
    """
    if capture_ids:
        named: set[str] = set()
        for capture_id in capture_ids:
            capture = _find(stores, capture_id)
            if capture.id not in named:
                named.add(capture.id)
                yield capture
    elif latest:
        yield from _latest(stores)
    else:
        for _, capture in iter_selected(stores, selection):
            yield capture


def count_captures(
    stores: Sequence[Path],
    *,
    selection: Selection | None = None,
    capture_ids: Sequence[str] = (),
    latest: bool = False,
) -> int:
    """How many captures :func:`iter_captures` will give, for a progress bar.

    Cheap for filters (a count per store), so a capture present in several
    stores is counted in each; unknown ids raise as they would there.
    """
    if capture_ids:
        return len({_find(stores, capture_id).id for capture_id in capture_ids})
    if latest:
        return len(_latest(stores))
    total = 0
    for path in stores:
        with open_store(path, create=False) as store:
            total += store.count_matching(selection)
    return total


def _find(stores: Sequence[Path], capture_id: str) -> Capture:
    first_error: CaptureNotFoundError | None = None
    for path in stores:
        with open_store(path, create=False) as store:
            try:
                return store.get(capture_id)
            except CaptureNotFoundError as error:
                first_error = first_error or error
    assert first_error is not None, "no stores given"
    raise first_error


def _latest(stores: Sequence[Path]) -> list[Capture]:
    newest: Capture | None = None
    for path in stores:
        with open_store(path, create=False) as store:
            try:
                capture = store.latest()
            except CaptureNotFoundError:
                continue
        if newest is None or (capture.started_at, capture.id) > (newest.started_at, newest.id):
            newest = capture
    return [newest] if newest is not None else []
