"""HTML reports: plain data first, rendering second, templates and assets beside them.

``capture_data`` and ``aggregate_data`` build the plain data a report shows
(tested on their own), ``render`` fills the jinja2 templates with it and
inlines the JavaScript and CSS of ``static/`` so a report is one file.
Installed as :mod:`profiler_kit.reports`.
"""

from __future__ import annotations

from profiler_kit.reports.capture_data import capture_report_data
from profiler_kit.reports.render import render_capture_report, write_capture_report

__all__ = ["capture_report_data", "render_capture_report", "write_capture_report"]
