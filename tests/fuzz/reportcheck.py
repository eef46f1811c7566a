"""Building reports from hostile names, and the structural checks every rendered report passes.

Shared by test_report_fuzz.py (hypothesis scale, HTML only) and
test_report_browser.py (a sample, in Chromium).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzkit import make_capture
from report_reading import Page, parse, sha256_source

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.reports.render import render_capture_report
from profiler_kit.store import open_store
from profiler_kit.store.blob import unpack
from profiler_kit.testing import cpu_blob, frame_string, memory_blob


@dataclass
class Names:
    """Every outside string that reaches a report."""

    function: str
    file: str
    route: str
    target: str
    method: str = "GET"
    host: str = "host"
    service: str = "svc"
    note: str = "note"
    python: str = "3.11"

    def all(self) -> list[str]:
        return [self.function, self.file, self.route, self.target, self.method, self.host,
                self.service, self.note, self.python]  # fmt: skip


def hostile_capture(names: Names, *, kind: str = "request", started_at: float = 1.7e9) -> Any:
    main = frame_string("main", "/srv/app/main.py", 1)
    hostile = frame_string(names.function, names.file, 7)
    memory = memory_blob([(4096, 2, [(names.function, names.file, 8), ("main", "/srv/m.py", 1)])])
    summary = json.loads(unpack(memory))
    summary["notes"] = [names.note]
    return make_capture(
        started_at=started_at,
        kind=kind,
        reason="sampled" if kind == "request" else "script",
        target=names.target,
        method=names.method if kind == "request" else None,
        route=names.route if kind == "request" else None,
        path=names.route if kind == "request" else None,
        status=200 if kind == "request" else None,
        host=names.host,
        service=names.service,
        peak_memory=4096,
        cpu_profile=cpu_blob([([main, hostile], 0.3), ([main], 0.1)], start_time=started_at),
        memory_profile=__import__("zlib").compress(json.dumps(summary).encode()),
        extra={"python": names.python, "framework": names.service, "gc_s": 0.001},
    )


def capture_report(names: Names, kind: str = "request") -> tuple[str, Any]:
    view = CaptureView.load(hostile_capture(names, kind=kind))
    from profiler_kit.reports.capture_data import capture_report_data

    return render_capture_report(view), capture_report_data(view)


def aggregate_report(names: Names, directory: Path, store_name: str) -> tuple[str, dict[str, Any]]:
    """The aggregate report with a baseline (diff views too), from stores named ``store_name``."""
    from profiler_kit.analysis.aggregate import aggregate
    from profiler_kit.analysis.calltree import FrameTable
    from profiler_kit.reports.aggregate_data import aggregate_report_data
    from profiler_kit.reports.render import render_aggregate_report

    current = directory / f"{store_name}.sqlite3"
    base = directory / f"{store_name}-base.sqlite3"
    with open_store(current) as store:
        store.add_many([hostile_capture(names, started_at=1.7e9 + i) for i in range(3)])
        store.add(hostile_capture(names, kind="script", started_at=1.7e9 + 5))
    with open_store(base) as store:
        store.add_many([hostile_capture(names, started_at=1.6e9 + i) for i in range(2)])
    table = FrameTable()
    baseline = aggregate([base], table=table)
    result = aggregate([current], table=table)
    data = aggregate_report_data(result, baseline, labels=(base.name, current.name))
    return render_aggregate_report(data), data


def _sha256(text: str) -> str:
    return f"'{sha256_source(text)}'"


@dataclass
class Checked:
    page: Page
    data: Any = field(default=None)


_REFERENCE: dict[str, list[Any]] = {}


def reference_elements(kind: str) -> list[Any]:
    """The elements (tags and attributes) of a report of plain names: the template's own."""
    if kind not in _REFERENCE:
        plain = Names("handler", "/srv/app/views.py", "/items/{id}", "GET /items/{id}")
        if kind == "capture":
            html = capture_report(plain)[0]
        else:
            import tempfile

            with tempfile.TemporaryDirectory() as directory:
                html = aggregate_report(plain, Path(directory), "store")[0]
        _REFERENCE[kind] = parse(html).elements
    return _REFERENCE[kind]


def check_report_html(html: str, data: Any, kind: str, title: str) -> Checked:
    """The template's elements exactly (nothing injected); CSP first and by hash; data intact."""
    html.encode("utf-8")  # what write_text will do
    lowered = html.lower()
    assert lowered.count("<script") == 2, "a script element was injected"
    assert lowered.count("</script") == 2
    page = parse(html)
    assert page.elements == reference_elements(kind), "the data changed the page's elements"
    assert len(page.csp) == 1
    assert page.tags.index("meta") < page.tags.index("script"), "CSP must precede every script"
    directives = {p.split()[0]: p.split()[1:] for p in page.csp[0].split(";") if p.strip()}
    assert directives["default-src"] == ["'none'"]
    (data_attrs, data_text), (code_attrs, code_text) = page.scripts
    assert data_attrs.get("type") == "application/json"
    assert data_attrs.get("id") == "profiler-kit-data"
    assert code_attrs.get("type") is None
    assert directives["script-src"] == [_sha256(code_text)]
    assert directives["style-src"] == [_sha256(page.styles[0])]
    embedded = json.loads(data_text)
    assert embedded == json.loads(json.dumps(data)), "the embedded data changed on the way"
    assert page.title == title, (page.title, title)
    return Checked(page, embedded)
