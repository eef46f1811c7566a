"""The rendered HTML report: escaping of hostile names and the Content-Security-Policy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pyinstrument.session import Session
from report_reading import Page, parse
from report_reading import sha256_source as _sha256_source

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.capture.cpu import encode_session
from profiler_kit.capture.memory_summary import AllocationSite, MemorySummary, encode_summary
from profiler_kit.reports.capture_data import capture_report_data
from profiler_kit.reports.render import embed_json, render_capture_report, write_capture_report
from profiler_kit.store.ids import new_capture_id
from profiler_kit.store.record import Capture

HOSTILE = "</script><img src=x onerror=alert(1)>"
HOSTILE_FILE = "/srv/<svg onload=alert(2)>/a&b.py"
TARGET = "<b>x</b>"


def _hostile_view() -> CaptureView:
    hostile = f"{HOSTILE}\x00{HOSTILE_FILE}\x001"
    main = "main\x00/srv/app/main.py\x001"
    session = Session(
        frame_records=[([main, hostile], 1.0), ([main], 0.5)],
        start_time=1_700_000_000.0,
        duration=1.5,
        min_interval=0.001,
        max_interval=0.001,
        sample_count=2,
        start_call_stack=[],
        target_description=TARGET,
        cpu_time=1.5,
        sys_path=[],
        sys_prefixes=[],
    )
    memory = MemorySummary(
        peak_bytes=1,
        total_bytes=1,
        allocations=1,
        leaked_bytes=0,
        leaked_allocations=0,
        top_sites=[AllocationSite(1, 1, [(HOSTILE, HOSTILE_FILE, 3)])],
        notes=["<script>alert(3)</script> & \u2028 line separator"],
    )
    capture = Capture(
        id=new_capture_id(1_700_000_000.0), kind="script", service="s", host="<i>host</i>",
        pid=1, started_at=1_700_000_000.0, wall_s=1.5, cpu_s=1.5, reason="script",
        target=TARGET, exit_code=0, cpu_profile=encode_session(session),
        memory_profile=encode_summary(memory), extra={"python": "</script>"},
    )  # fmt: skip
    return CaptureView.load(capture)


@pytest.fixture(scope="module")
def view() -> CaptureView:
    return _hostile_view()


@pytest.fixture(scope="module")
def page(view: CaptureView) -> tuple[str, Page]:
    html = render_capture_report(view)
    return html, parse(html)


def test_hostile_frame_name_is_not_markup(page: tuple[str, Page]) -> None:
    """A frame named like a script break-out never appears raw in the HTML."""
    html, _ = page
    assert "<img src=x" not in html
    assert "</script><img" not in html
    assert "<svg onload" not in html
    assert "<script>alert(3)" not in html


def test_only_the_two_real_script_elements_exist(page: tuple[str, Page]) -> None:
    """The page has exactly the JSON data block and the report script, nothing injected."""
    html, parser = page
    assert len(parser.scripts) == 2
    assert html.count("<script") == 2
    assert html.count("</script>") == 2
    assert parser.scripts[0][0].get("type") == "application/json"


def test_title_is_escaped(page: tuple[str, Page]) -> None:
    """The capture target appears HTML-escaped in the title, never as a live tag."""
    html, parser = page
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x</b>" not in html
    assert parser.title == f"profiler-kit: {TARGET}"


def test_embedded_data_round_trips(view: CaptureView, page: tuple[str, Page]) -> None:
    """The JSON data block parses back to exactly capture_report_data of the capture."""
    _, parser = page
    attributes, text = parser.scripts[0]
    assert attributes.get("id") == "profiler-kit-data"
    data = json.loads(text)
    assert data == capture_report_data(view)
    assert HOSTILE in [frame["name"] for frame in data["frames"]]


@pytest.mark.parametrize(
    "data",
    [
        {"name": HOSTILE, "file": HOSTILE_FILE},
        ["<!--", "-->", "a & b", "\u2028\u2029", "back\\slash<", "ünï ✓"],
        {"<key>": "&amp;", "nested": [{"x": "</SCRIPT >"}]},
    ],
    ids=["hostile-frame", "specials", "keys"],
)
def test_embed_json_has_no_markup_characters(data: Any) -> None:
    """embed_json output has no <, >, & or raw line separators, and loads back to the data."""
    text = embed_json(data)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == data


def test_embed_json_refuses_nan() -> None:
    """NaN is not valid JSON, so embed_json refuses it instead of emitting it."""
    with pytest.raises(ValueError):
        embed_json({"x": float("nan")})


def test_csp_locks_down_the_page(page: tuple[str, Page]) -> None:
    """One CSP meta tag denies everything by default and admits scripts/styles only by hash."""
    _, parser = page
    assert len(parser.csp) == 1
    directives = {
        part.split()[0]: part.split()[1:] for part in parser.csp[0].split(";") if part.strip()
    }
    assert directives["default-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]+=*'", v) for v in directives["script-src"])
    assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]+=*'", v) for v in directives["style-src"])


def test_csp_hashes_match_inlined_script_and_style(page: tuple[str, Page]) -> None:
    """The CSP script and style hashes are the sha256 of the exact inlined script and style text."""
    _, parser = page
    directives = {
        part.split()[0]: part.split()[1:] for part in parser.csp[0].split(";") if part.strip()
    }
    executable = [text for attributes, text in parser.scripts if attributes.get("type") is None]
    assert len(executable) == 1
    assert executable[0].strip()
    assert directives["script-src"] == [f"'{_sha256_source(executable[0])}'"]
    assert len(parser.styles) == 1
    assert directives["style-src"] == [f"'{_sha256_source(parser.styles[0])}'"]


def test_write_capture_report(tmp_path: Path, view: CaptureView, page: tuple[str, Page]) -> None:
    """write_capture_report writes the rendered page as UTF-8 to the given path."""
    html, _ = page
    path = write_capture_report(view, tmp_path / "report.html")
    assert path.read_text(encoding="utf-8") == html
