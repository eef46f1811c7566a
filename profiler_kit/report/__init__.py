"""HTML reports: plain data first (``*_data`` modules), rendering second."""

from __future__ import annotations

from profiler_kit.report.capture_data import capture_report_data
from profiler_kit.report.render import render_capture_report, write_capture_report

__all__ = ["capture_report_data", "render_capture_report", "write_capture_report"]
