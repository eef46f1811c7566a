"""Headless Chromium (Debian's package) driven by Playwright for report tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A function whose name is an HTML payload: the report must show it as text.
HOSTILE_NAME = "<img src=x onerror=alert(1)>"

TARGET_SCRIPT = textwrap.dedent(
    f"""
    import time

    def burn_cpu_hotspot(seconds):
        end = time.perf_counter() + seconds
        total = 0
        while time.perf_counter() < end:
            for i in range(200):
                total += i * i
        return total

    def light_helper():
        return sum(range(1000))

    def _hostile(seconds):
        return burn_cpu_hotspot(seconds)

    hostile = type(_hostile)(
        _hostile.__code__.replace(co_name={HOSTILE_NAME!r}, co_qualname={HOSTILE_NAME!r}),
        globals(),
    )

    def keep_memory():
        kept = []
        for _ in range(5000):
            kept.append(bytearray(4096))
        return kept

    if __name__ == "__main__":
        kept = keep_memory()
        burn_cpu_hotspot(0.4)
        hostile(0.15)
        light_helper()
    """
)


@pytest.fixture(scope="module")  # a live Playwright keeps an event loop running
def browser() -> Iterator[Any]:
    """One Chromium per test module (a live Playwright keeps an asyncio loop running in
    this thread, which later tests calling asyncio.run would trip over)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def make_report(directory: Path, *extra_args: str) -> Path:
    """Profile the target script with the real CLI and return its HTML report."""
    script = directory / "target_app.py"
    script.write_text(TARGET_SCRIPT)
    report = directory / "report.html"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "profiler_kit",
            "run",
            "-q",
            "--store",
            str(directory / "store.sqlite3"),
            "-o",
            str(report),
            *extra_args,
            str(script),
        ],
        cwd=directory,
        check=True,
    )
    return report


@pytest.fixture(scope="session")
def hostile_name() -> str:
    return HOSTILE_NAME


@pytest.fixture(scope="session")
def cpu_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_report(tmp_path_factory.mktemp("cpu-report"))


@pytest.fixture(scope="session")
def memory_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_report(tmp_path_factory.mktemp("memory-report"), "--memory")


@dataclass
class ReportPage:
    """A loaded report and everything the browser said while showing it."""

    page: Any
    console: list[Any] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Console errors and warnings (CSP violations land here) and page errors."""
        messages = [f"{m.type}: {m.text}" for m in self.console if m.type in ("error", "warning")]
        return messages + [f"pageerror: {error}" for error in self.errors]


@pytest.fixture
def open_report(browser: Any) -> Iterator[Callable[[Path], ReportPage]]:
    """Open a report file and record console messages, errors, requests and dialogs."""
    contexts = []

    def _open(report: Path) -> ReportPage:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        loaded = ReportPage(page)
        page.on("console", lambda message: loaded.console.append(message))
        page.on("pageerror", lambda error: loaded.errors.append(error))
        page.on("request", lambda request: loaded.requests.append(request.url))

        def on_dialog(dialog: Any) -> None:
            loaded.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        return loaded

    yield _open
    for context in contexts:
        context.close()
