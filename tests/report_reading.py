"""Reading a rendered report back: its HTML elements, its CSP hashes, its data's trees.

The escaping tests and the report fuzzers check the same things of a page
(which scripts and styles it has, what its Content-Security-Policy allows),
so they read it with the same parser.
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from typing import Any


class Page(HTMLParser):
    """Element order, the CSP, the title and the text of each script and style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.elements: list[tuple[str, tuple[tuple[str, str | None], ...]]] = []
        self.csp: list[str] = []
        self.title = ""
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.elements.append((tag, tuple(attrs)))
        attributes = dict(attrs)
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == (
            "content-security-policy"
        ):
            self.csp.append(attributes.get("content") or "")
        if tag in ("script", "style", "title"):
            self._open, self._text = (tag, attributes), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == self._open[0]:
            text = "".join(self._text)
            if tag == "script":
                self.scripts.append((self._open[1], text))
            elif tag == "style":
                self.styles.append(text)
            else:
                self.title = text
            self._open = None


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def sha256_source(text: str) -> str:
    """The CSP source (unquoted) that allows exactly this inline script or style."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a report data tree (children under ``"c"``), the root included."""
    out, pending = [], [node]
    while pending:
        current = pending.pop()
        out.append(current)
        pending.extend(current.get("c", []))
    return out
