"""Render report data into one self-contained HTML file.

Assets are inlined and a Content-Security-Policy admits only those exact
scripts and styles (by hash) and no network at all. Even if a hostile
function name slipped past escaping, the browser would refuse to run it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from profiler_kit.reports.capture_data import capture_report_data

from profiler_kit.analysis.capture_view import CaptureView

__all__ = [
    "embed_json",
    "render_aggregate_report",
    "render_capture_report",
    "render_page",
    "write_capture_report",
]


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("profiler_kit.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@lru_cache(maxsize=8)
def _asset(name: str) -> str:
    return (resources.files("profiler_kit.reports") / "static" / name).read_text("utf-8")


def _shared(name: str) -> str:
    try:
        return _asset(name) + "\n"
    except FileNotFoundError:
        return ""


def _hash_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def embed_json(data: Any) -> str:
    """JSON that cannot close the surrounding ``<script>`` element."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def render_page(template: str, data: dict[str, Any], *, script: str, style: str) -> str:
    """Render ``template`` with its data, one inlined script and one stylesheet."""
    # Pages share components (formatting, flame graph, call tree) through common.*,
    # inlined ahead of the page's own file so each report stays one file.
    js = _shared("common.js") + _asset(script)
    css = _shared("common.css") + _asset(style)
    csp = (
        f"default-src 'none'; script-src {_hash_source(js)}; "
        f"style-src {_hash_source(css)}; img-src data:; base-uri 'none'; form-action 'none'"
    )
    return (
        _environment()
        .get_template(template)
        .render(
            title=str(data.get("title", "profiler-kit")),
            csp=csp,
            css=css,
            js=js,
            data_json=embed_json(data),
        )
    )


def render_capture_report(view: CaptureView) -> str:
    return render_page(
        "capture.html.j2", capture_report_data(view), script="report.js", style="report.css"
    )


def render_aggregate_report(data: dict[str, Any]) -> str:
    """The many-capture report, from ``aggregate_report_data``."""
    return render_page("aggregate.html.j2", data, script="aggregate.js", style="aggregate.css")


def write_capture_report(view: CaptureView, path: Path) -> Path:
    # "replace": a lone surrogate (a file name that is not UTF-8) shows as U+FFFD.
    path.write_text(render_capture_report(view), encoding="utf-8", errors="replace")
    return path
