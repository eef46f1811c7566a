"""Render report data into one self-contained HTML file.

Assets are inlined and a Content-Security-Policy admits only those exact
scripts and styles (by hash) and no network at all. Even if a hostile
function name slipped past escaping, the browser would refuse to run it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.reports.capture_data import capture_report_data

__all__ = [
    "AGGREGATE_PAGE",
    "CAPTURE_PAGE",
    "ReportPage",
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


@dataclass(frozen=True)
class ReportPage:
    """A report's template and the static files inlined into it, in join order."""

    template: str
    scripts: tuple[str, ...]
    styles: tuple[str, ...]


# The front end is one file per component in static/, joined in the order below into
# a page's one script element (one CSP hash) and one style element. Order matters:
# a script uses what the files before it added to window.ProfilerKit, and the page's
# own file, which boots the page and freezes that namespace, comes last.
_COMPONENT_SCRIPTS = (
    "util.js",
    "format.js",
    "widgets.js",
    "page.js",
    "frames.js",
    "flamegraph.js",
    "calltree.js",
    "hotspots.js",
    "memory.js",
)
CAPTURE_PAGE = ReportPage(
    template="capture.html.j2",
    scripts=(*_COMPONENT_SCRIPTS, "capture.js"),
    styles=("common.css",),
)
AGGREGATE_PAGE = ReportPage(
    template="aggregate.html.j2",
    scripts=(
        *_COMPONENT_SCRIPTS,
        "histogram.js",
        "routes.js",
        "diff.js",
        "drilldown.js",
        "aggregate.js",
    ),
    styles=("common.css", "aggregate.css"),
)


@lru_cache(maxsize=8)
def _joined(names: tuple[str, ...]) -> str:
    static = resources.files("profiler_kit.reports") / "static"
    return "\n".join((static / name).read_text("utf-8") for name in names)


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


def render_page(page: ReportPage, data: dict[str, Any]) -> str:
    """Render ``page`` with its data, its scripts inlined as one and its styles as one."""
    js = _joined(page.scripts)
    css = _joined(page.styles)
    csp = (
        f"default-src 'none'; script-src {_hash_source(js)}; "
        f"style-src {_hash_source(css)}; img-src data:; base-uri 'none'; form-action 'none'"
    )
    return (
        _environment()
        .get_template(page.template)
        .render(
            title=str(data.get("title", "profiler-kit")),
            csp=csp,
            css=css,
            js=js,
            data_json=embed_json(data),
        )
    )


def render_capture_report(view: CaptureView) -> str:
    return render_page(CAPTURE_PAGE, capture_report_data(view))


def render_aggregate_report(data: dict[str, Any]) -> str:
    """The many-capture report, from ``aggregate_report_data``."""
    return render_page(AGGREGATE_PAGE, data)


def write_capture_report(view: CaptureView, path: Path) -> Path:
    # "replace": a lone surrogate (a file name that is not UTF-8) shows as U+FFFD.
    path.write_text(render_capture_report(view), encoding="utf-8", errors="replace")
    return path
