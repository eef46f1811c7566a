"""Short source paths and decoding a stored capture for display."""

from __future__ import annotations

import os
import zlib

import pytest

from profiler_kit.analysis.capture_view import CaptureView, CorruptCaptureError, short_path
from profiler_kit.store.record import Capture

SEP = os.sep


def _p(*parts: str) -> str:
    return SEP + SEP.join(parts)


def test_relative_to_cwd() -> None:
    """A file under the working directory is shown relative to it."""
    cwd = _p("home", "me", "proj")
    assert short_path(_p("home", "me", "proj", "app", "views.py"), [], cwd=cwd) == os.path.join(
        "app", "views.py"
    )


def test_cwd_with_trailing_separator() -> None:
    """A working directory given with a trailing separator gives the same result."""
    file = _p("srv", "proj", "main.py")
    assert short_path(file, [], cwd=_p("srv", "proj") + SEP) == "main.py"


def test_relative_to_longest_sys_path_entry() -> None:
    """Outside cwd, a file is shown relative to the most specific sys.path entry containing it."""
    lib = _p("usr", "lib", "python3.11")
    site = os.path.join(lib, "site-packages")
    file = os.path.join(site, "requests", "api.py")
    cwd = _p("elsewhere")
    assert short_path(file, [lib, site], cwd=cwd) == os.path.join("requests", "api.py")
    assert short_path(file, [site, lib], cwd=cwd) == os.path.join("requests", "api.py")
    stdlib = os.path.join(lib, "json", "decoder.py")
    assert short_path(stdlib, [lib, site], cwd=cwd) == os.path.join("json", "decoder.py")


def test_unchanged_when_outside_cwd_and_sys_path() -> None:
    """A file under no known directory keeps its full path."""
    file = _p("opt", "tool", "run.py")
    assert short_path(file, [_p("usr", "lib")], cwd=_p("home", "me")) == file


def test_sibling_directory_with_common_prefix_is_not_shortened() -> None:
    """/srv/app2/x.py is not shown relative to /srv/app (prefix match needs a separator)."""
    file = _p("srv", "app2", "x.py")
    assert short_path(file, [_p("srv", "app")], cwd=_p("srv", "app")) == file


@pytest.mark.parametrize("file", ["<built-in>", "<frozen runpy>", "<string>", ""])
def test_pseudo_files_unchanged(file: str) -> None:
    """<built-in> and other pseudo file names, and the empty name, are returned as is."""
    assert short_path(file, [SEP], cwd=SEP) == file


def test_empty_sys_path_entry_is_ignored() -> None:
    """An empty sys.path entry ('' = cwd at start-up) does not strip anything."""
    file = _p("opt", "x.py")
    assert short_path(file, [""], cwd=_p("home")) == file


def test_load_without_payloads() -> None:
    """A capture without payloads loads as an empty tree, no memory and zero samples."""
    capture = Capture(
        id="01HZZZZZZZZZZZZZZZZZZZZZZZ", kind="script", service="s", host="h", pid=1,
        started_at=0.0, wall_s=0.0, cpu_s=0.0, reason="script", target="t.py",
    )  # fmt: skip
    view = CaptureView.load(capture)
    assert view.tree.total == 0.0
    assert view.memory is None
    assert view.samples == 0


@pytest.mark.parametrize("field", ["cpu_profile", "memory_profile"])
def test_load_corrupt_payload_raises_corrupt_capture_error(field: str) -> None:
    """Undecodable payload bytes become CorruptCaptureError naming the capture."""
    capture = Capture(
        id="01HZZZZZZZZZZZZZZZZZZZZZZZ", kind="script", service="s", host="h", pid=1,
        started_at=0.0, wall_s=0.0, cpu_s=0.0, reason="script", target="t.py",
    ).replace(**{field: zlib.compress(b"{}")})  # fmt: skip
    with pytest.raises(CorruptCaptureError, match="01HZZZZZZZZZZZZZZZZZZZZZZZ"):
        CaptureView.load(capture)
