"""Fuzzing the report renderer with hostile route, file, function and target names.

Every report keeps exactly its own two script elements (the JSON data block
and the report code, both admitted by the Content-Security-Policy), embeds
the data unchanged, and shows the title as text. The browser half of this
check, for a sample of the cases, is test_report_browser.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import fuzzkit
import reportcheck
from fuzzkit import fuzz_settings, hostile_text
from hypothesis import event, example, given
from hypothesis import strategies as st
from reportcheck import Names

from profiler_kit.analysis.aggregate import route_key

names = st.builds(
    Names,
    function=hostile_text,
    file=hostile_text,
    route=hostile_text,
    target=hostile_text,
    method=hostile_text,
    host=hostile_text,
    service=hostile_text,
    note=hostile_text,
    python=hostile_text,
)
ALL_HOSTILE = Names(*(fuzzkit.HOSTILE[i % len(fuzzkit.HOSTILE)] for i in range(9)))
store_names = st.text(
    st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=40
).filter(lambda name: name not in (".", ".."))


@given(names=names, kind=st.sampled_from(["request", "script"]))
@example(names=ALL_HOSTILE, kind="request")
@example(names=Names("\x00", "\x00", "\x00", "\u2028</script>", "\x00"), kind="request")
@fuzz_settings(weight=1.5)
def test_capture_report(names: Names, kind: str) -> None:
    html, data = reportcheck.capture_report(names, kind)
    reportcheck.check_report_html(html, data, "capture", f"profiler-kit: {names.target}")
    event(f"capture report ({kind}): {len(html) // 100_000 * 100} kB+")


@given(
    names=names,
    store_name=store_names
    | st.sampled_from(fuzzkit.HOSTILE[:5]).map(lambda name: name.replace("/", "\\")),
)
@example(names=ALL_HOSTILE, store_name="<script>alert(1)<\\script>")
@fuzz_settings(weight=0.5)
def test_aggregate_report(names: Names, store_name: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pk-fuzz-report-") as directory:
        html, data = reportcheck.aggregate_report(names, Path(directory), store_name)
    checked = reportcheck.check_report_html(html, data, "aggregate", data["title"])
    keys = {route["key"] for route in checked.data["routes"]}
    assert route_key(reportcheck.hostile_capture(names)) in keys
    assert checked.data["diff"]["current_label"].startswith(store_name)
