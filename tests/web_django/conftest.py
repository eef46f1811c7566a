"""Fixtures for the Django plugin's real-server tests.

``pk_django_site.py`` (beside this file) is served by gunicorn (WSGI) or
uvicorn (ASGI) from this directory, configured only through ``PROFILER_KIT_*``
environment variables and a store in a temporary directory. Test modules start
servers with the session-scoped ``django_servers`` fixture, usually from a
module-scoped fixture parametrized over ``SERVER_KINDS``.

With ``--import-mode=importlib`` test modules cannot import this file, so the
helpers are methods of the objects these fixtures return.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import random
import re
import time
import types
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.config import Settings
from profiler_kit.store import CaptureSummary, open_store
from profiler_kit.testing import read_captures, wait_for_captures

SITE_DIR = Path(__file__).parent
SITE_MODULE = "pk_django_site"
SERVER_KINDS = ("gunicorn", "uvicorn")
# A capture that should have been written is in the store well within this.
NO_CAPTURE_SETTLE_S = 1.0
# The middleware logs "profiler-kit: <what> failed (...)" once per kind of failure.
_FAILURE_LINE = re.compile(r"profiler-kit: .* failed \(")


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]
    elapsed_s: float


@dataclass
class DjangoServer:
    """One running server of the test project, with its own capture store."""

    kind: str
    url: str
    store: Path
    handle: Any  # the root conftest's Server: .process, .log, .output()

    @property
    def is_async(self) -> bool:
        """Whether requests run on an event loop (ASGI)."""
        return self.kind == "uvicorn"

    # -- requests ------------------------------------------------------------

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        """One request on loopback; HTTP errors are returned, not raised."""
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=dict(headers or {})
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                body = reply.read()
                return Reply(reply.status, body, dict(reply.headers), time.perf_counter() - started)
        except urllib.error.HTTPError as error:
            with error:  # an unclosed HTTPError is a ResourceWarning when collected (3.14)
                body = error.read()
            return Reply(error.code, body, dict(error.headers), time.perf_counter() - started)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Reply:
        return self.request(path, headers=headers)

    # -- captures ------------------------------------------------------------

    def wait_for(
        self, count: int, where: Callable[[CaptureSummary], bool], timeout: float = 20.0
    ) -> list[CaptureSummary]:
        return wait_for_captures(self.store, count, where=where, timeout=timeout)

    def wait_for_path(self, path: str, count: int = 1) -> list[CaptureSummary]:
        """Captures of one request path (paths are unique per test), at least ``count``."""
        found = self.wait_for(count, lambda c: c.path == path)
        assert len(found) >= count, (
            f"expected {count} capture(s) of {path} on {self.kind}, found {len(found)}"
            + self.log_tail()
        )
        return found

    def captures_of(self, *paths: str, settle: float = NO_CAPTURE_SETTLE_S) -> list[CaptureSummary]:
        """After a pause long enough for any capture to be written: those of these paths.

        Tests that asserted on a later request's capture first pass a shorter ``settle``.
        """
        time.sleep(settle)
        wanted = set(paths)
        return read_captures(self.store, lambda c: c.path in wanted)

    def frame_names(self, capture_id: str) -> set[str]:
        """Function names in a capture's CPU profile."""
        with open_store(self.store, create=False) as store:
            view = CaptureView.load(store.get(capture_id))
        return {frame.name for frame in view.tree.frames}

    # -- log -----------------------------------------------------------------

    def log(self) -> str:
        return self.handle.output() if self.handle.log.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return f"\n--- {self.kind} log (tail) ---\n{self.log()[-chars:]}"

    def log_mark(self) -> int:
        """Where the log ends now: pass it to ``failure_lines`` to see only what follows."""
        return len(self.log())

    def failure_lines(self, since: int = 0) -> list[str]:
        """The middleware's "profiler-kit: ... failed" lines in the server log (after ``since``)."""
        return [line for line in self.log()[since:].splitlines() if _FAILURE_LINE.search(line)]


class DjangoServers:
    """Starts the test project under gunicorn or uvicorn."""

    def __init__(self, base: Any, tmp_root: Path) -> None:
        self._base = base
        self._tmp_root = tmp_root
        self._stores = itertools.count()

    @contextlib.contextmanager
    def start(
        self, kind: str, env: Mapping[str, str] | None = None, *, workers: int = 2
    ) -> Iterator[DjangoServer]:
        """Serve the project with ``env`` (PROFILER_KIT_* settings) until the block ends.

        gunicorn runs ``workers`` sync worker processes; uvicorn always runs one.

        Every PROFILER_KIT_* variable this process inherited is blanked (an empty
        value means "not set"), so only ``env`` configures the server.
        """
        base = self._base
        port = base.free_port()
        store = self._tmp_root / f"{kind}-{next(self._stores)}" / "captures.sqlite3"
        full_env = {
            f"PROFILER_KIT_{field.name.upper()}": "" for field in dataclasses.fields(Settings)
        }
        full_env.update(
            {
                "PK_TEST_SETTINGS_DICT": "",
                "DJANGO_SETTINGS_MODULE": "",
                "PYTHONDONTWRITEBYTECODE": "1",
                "PROFILER_KIT_STORE": str(store),
                **(env or {}),
            }
        )
        if kind == "gunicorn":
            argv = base.gunicorn_argv(
                f"{SITE_MODULE}:application", port, "-w", str(workers), "--graceful-timeout", "5"
            )
        elif kind == "uvicorn":  # always one process
            argv = base.uvicorn_argv(f"{SITE_MODULE}:asgi_application", port, "--lifespan", "off")
        else:
            raise ValueError(kind)
        with base.run(argv, port=port, cwd=SITE_DIR, env=full_env) as handle:
            log_path = handle.log
            yield DjangoServer(kind, handle.url, store, handle)
        # The server has stopped: its log (in this directory) was only for failure messages.
        with contextlib.suppress(OSError):
            log_path.unlink()


def _root_helpers(config: pytest.Config) -> Any:
    """The root conftest's ``Servers`` helpers (free_port, run, *_argv)."""
    root_conftest = SITE_DIR.parent / "conftest.py"
    module = config.pluginmanager.get_plugin(str(root_conftest))
    if not isinstance(module, types.ModuleType) or not hasattr(module, "Servers"):
        for plugin in config.pluginmanager.get_plugins():
            if getattr(plugin, "__file__", None) == str(root_conftest):
                module = plugin
                break
    assert isinstance(module, types.ModuleType), f"{root_conftest} is not loaded"
    return module.Servers()


@pytest.fixture(scope="session")
def django_servers(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> DjangoServers:
    """Start the test project: ``with django_servers.start("gunicorn", env) as server``."""
    return DjangoServers(_root_helpers(pytestconfig), tmp_path_factory.mktemp("django-stores"))


_ids = itertools.count(random.randrange(1, 1_000_000) * 1000)


@pytest.fixture
def new_id() -> Callable[[], int]:
    """Fresh integers for request paths, so each test finds only its own captures."""
    return lambda: next(_ids)
