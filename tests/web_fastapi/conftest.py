"""Real uvicorn servers running ``app_under_test.py``, and reading what they captured.

Servers run from their own directory under ``tmp_path`` (logs and any stray
default store land there, not in the source tree) and import the app with
``--app-dir`` pointing here. Profiling is configured only through
``PROFILER_KIT_*`` variables; every such variable not set by a test is passed
empty, which profiler-kit reads as "not given", so the environment pytest runs
in cannot leak settings into a server.

With ``--import-mode=importlib`` test modules cannot import this file, so the
helpers are methods of the objects the fixtures give.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from profiler_kit.analysis.calltree import CallNode, CallTree
from profiler_kit.analysis.capture_view import CaptureView
from profiler_kit.config import ENV_PREFIX, Settings
from profiler_kit.store import CaptureSummary, open_store
from profiler_kit.store.record import Capture
from profiler_kit.testing import read_captures, stored_texts, wait_for_captures

HERE = Path(__file__).resolve().parent
TESTS_DIR = HERE.parent
ROOT_CONFTEST = TESTS_DIR / "conftest.py"
APP = "app_under_test:app"
NO_BUDGET_LIMIT = "100000"
SETTINGS_ENV = {ENV_PREFIX + f.name.upper(): "" for f in dataclasses.fields(Settings)}

_ids = itertools.count(1000)


@dataclass
class AppServer:
    """One running uvicorn with ``app_under_test``, its store and its log."""

    name: str
    url: str
    store: Path
    process: Any
    log: Path
    http_get: Callable[..., Any]
    env: dict[str, str] = field(default_factory=dict)

    # -- requests ------------------------------------------------------------

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Any:
        return self.http_get(self.url + path, headers)

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # -- captures ------------------------------------------------------------

    def captures(
        self, where: Callable[[CaptureSummary], bool] | None = None
    ) -> list[CaptureSummary]:
        return read_captures(self.store, where)

    def wait(
        self, count: int, where: Callable[[CaptureSummary], bool] | None = None
    ) -> list[CaptureSummary]:
        return wait_for_captures(self.store, count, where=where)

    def flush(self) -> None:
        """Send a sentinel request and wait until it is stored.

        The writer stores captures in the order requests finished, so every
        capture of a request answered before the sentinel is in the store too.
        """
        marker = f"/sentinel/flush-{next(_ids)}"
        reply = self.get(marker)
        assert reply.status == 200, reply
        found = wait_for_captures(self.store, 1, settle=0.1, where=lambda c: c.path == marker)
        assert found, f"sentinel {marker} never reached {self.store}:\n{self.output()}"

    def for_path(self, path: str) -> list[CaptureSummary]:
        return self.captures(lambda c: c.path == path)

    def full(self, capture_id: str) -> Capture:
        with open_store(self.store, create=False) as store:
            return store.get(capture_id)

    def view(self, capture_id: str) -> CaptureView:
        return CaptureView.load(self.full(capture_id))

    def raw_row_texts(self, capture_id: str) -> dict[str, list[str]]:
        """Every column of the capture's row, as stored (payloads also decompressed)."""
        return stored_texts(self.store, capture_id)


# -- reading profiles ------------------------------------------------------------


def frame_names(view: CaptureView) -> set[str]:
    return {frame.name for frame in view.tree.frames}


def total_time(view: CaptureView, name: str) -> float:
    """Seconds the profile spent in (and under) functions called ``name``."""
    ids = [i for i, frame in enumerate(view.tree.frames) if frame.name == name]
    return sum(view.tree.total_times.get(i, 0.0) for i in ids)


def paths_to(tree: CallTree, name: str) -> list[list[str]]:
    """Root-first frame-name paths to every node of ``name`` in the call tree."""
    found: list[list[str]] = []

    def walk(node: CallNode, above: list[str]) -> None:
        for child in node.children.values():
            here = [*above, tree.frames[child.frame].name]
            if here[-1] == name:
                found.append(here)
            walk(child, here)

    walk(tree.root, [])
    return found


@dataclass
class Profiles:
    """What the ``profiles`` fixture gives: helpers to read CPU profiles."""

    frame_names = staticmethod(frame_names)
    total_time = staticmethod(total_time)
    paths_to = staticmethod(paths_to)


@pytest.fixture(scope="session")
def profiles() -> Profiles:
    """Helpers over :class:`CaptureView`: frame names, time in a function, call paths."""
    return Profiles()


# -- starting servers ------------------------------------------------------------


class Launcher:
    """Starts ``app_under_test`` under uvicorn with a given profiler-kit environment."""

    def __init__(self, base: Any, root: Path) -> None:
        self.base = base
        self.root = root
        self._count = itertools.count()

    @contextlib.contextmanager
    def run(
        self,
        name: str,
        settings: Mapping[str, str] | None = None,
        *,
        extra_env: Mapping[str, str] | None = None,
        store: Path | None = None,
    ) -> Iterator[AppServer]:
        """``settings`` maps Settings field names (``sample_rate``) to env values."""
        cwd = self.root / f"{name}-{next(self._count)}"
        cwd.mkdir(parents=True)
        store = store if store is not None else cwd / "store" / "captures.sqlite3"
        env = dict(SETTINGS_ENV)
        env[ENV_PREFIX + "STORE"] = str(store)
        env[ENV_PREFIX + "MAX_CAPTURES_PER_MINUTE"] = NO_BUDGET_LIMIT
        for key, value in (settings or {}).items():
            env[ENV_PREFIX + key.upper()] = value
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(extra_env or {})
        port = self.base.free_port()
        argv = self.base.uvicorn_argv(APP, port, "--app-dir", str(HERE))
        with self.base.run(argv, port=port, cwd=cwd, env=env) as server:
            yield AppServer(
                name=name,
                url=server.url,
                store=store,
                process=server.process,
                log=server.log,
                http_get=self.base.get,
                env=env,
            )


@pytest.fixture(scope="session")
def launcher(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Launcher:
    """Starts servers; uses the ``Servers`` helpers of tests/conftest.py."""
    root_conftest = pytestconfig.pluginmanager.get_plugin(str(ROOT_CONFTEST))
    assert root_conftest is not None, f"{ROOT_CONFTEST} is not loaded"
    return Launcher(root_conftest.Servers(), tmp_path_factory.mktemp("web_fastapi"))


@pytest.fixture(scope="session")
def sampled_server(launcher: Launcher) -> Iterator[AppServer]:
    """Every request sampled (except /health*), no slow watch, no budget limit."""
    with launcher.run(
        "sampled", {"sample_rate": "1", "slow_ms": "0", "exclude_paths": "/health*"}
    ) as server:
        yield server


@pytest.fixture(scope="session")
def reference_server(launcher: Launcher) -> Iterator[AppServer]:
    """The same app without the profiler middleware: what responses must look like."""
    with launcher.run("reference", extra_env={"PK_TEST_MIDDLEWARE": "0"}) as server:
        yield server


@pytest.fixture
def uid() -> Callable[[], int]:
    """Fresh numbers for request paths, so tests sharing a server never share a path."""
    return lambda: next(_ids)
