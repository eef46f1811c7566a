"""Real servers whose OpenTelemetry spans go to a loopback OTLP receiver.

Each app beside this file (``otel_fastapi_app``, ``otel_flask_app``,
``otel_django_site``) sets up an SDK ``TracerProvider`` exporting with
OTLP/HTTP to the receiver its server was started with, and installs the real
OpenTelemetry instrumentation and profiler-kit in the order ``PKT_WIRING`` asks
for (see each app's docstring). Servers run under uvicorn or gunicorn through
the root conftest's ``Servers`` helpers, from a directory under ``tmp_path``,
and are configured only through ``PROFILER_KIT_*`` variables: every one a test
does not set is passed empty ("not given").

Every request a test sends carries a W3C ``traceparent`` with a fresh trace
id, so the request's spans are found by trace id whatever the semantic
conventions of the instrumentation version.

With ``--import-mode=importlib`` test modules cannot import this file: the
helpers are methods of the objects the fixtures give.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import random
import re
import secrets
import time
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from server_env import gunicorn_isolation_args, profiler_kit_env

from profiler_kit.store import CaptureSummary, open_store
from profiler_kit.store.record import Capture
from profiler_kit.testing import read_captures, wait_for_captures
from profiler_kit.testing.otlp_receiver import OtlpHttpReceiver, ReceivedSpan

HERE = Path(__file__).resolve().parent
ROOT_CONFTEST = HERE.parent / "conftest.py"
NO_BUDGET_LIMIT = "100000"
# Settings of the OpenTelemetry design, blanked too while Settings may not have them yet.
OTEL_SETTINGS = ("otel_spans", "otel_min_share", "otel_min_frame_ms")
SPAN_TIMEOUT_S = 20.0
CAPTURE_TIMEOUT_S = 20.0
# A capture that was going to be stored is in the store well within this.
NO_CAPTURE_SETTLE_S = 1.0
PK_PREFIX = "profiler_kit."
CODE_KEYS = ("code.function", "code.filepath", "code.lineno")
# What a healthy server never prints (at --log-level warning nothing is printed at all).
LOG_PROBLEM = re.compile(
    r"Traceback|Error|Exception|profiler-kit: .* failed|ended span|Invalid type|WARNING",
)


@dataclass(frozen=True)
class AppKind:
    """How one app is served."""

    module: str  # file name without .py, beside this file
    target: str  # module:attribute
    server: str  # "uvicorn" or "gunicorn"

    @property
    def file(self) -> Path:
        return HERE / f"{self.module}.py"


APPS = {
    "fastapi": AppKind("otel_fastapi_app", "otel_fastapi_app:app", "uvicorn"),
    "flask": AppKind("otel_flask_app", "otel_flask_app:app", "gunicorn"),
    "django-wsgi": AppKind("otel_django_site", "otel_django_site:application", "gunicorn"),
    "django-asgi": AppKind("otel_django_site", "otel_django_site:asgi_application", "uvicorn"),
}

_ids = itertools.count(random.randrange(1, 1_000_000) * 1000)


def new_trace() -> tuple[str, str]:
    """A fresh (trace id, traceparent header) of a sampled remote parent."""
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


@dataclass
class Traced:
    """A reply and the trace id its request carried."""

    status: int
    body: bytes
    headers: dict[str, str]
    trace_id: str

    def header(self, name: str) -> str | None:
        """A response header, whatever the case the server wrote its name in."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass
class LinkedServer:
    """One running server of an otel_link app, with its receiver and its store."""

    app: str
    app_kind: AppKind
    url: str
    store: Path
    receiver: OtlpHttpReceiver
    handle: Any  # the root conftest's Server: .process, .log, .output()
    http_get: Callable[..., Any]
    settings: dict[str, Any]  # the profiler-kit settings the server was given

    # -- requests ------------------------------------------------------------

    def get(self, path: str) -> Traced:
        """GET with a fresh sampled ``traceparent``; HTTP errors come back as replies."""
        trace_id, traceparent = new_trace()
        reply = self.http_get(self.url + path, {"traceparent": traceparent})
        return Traced(reply.status, reply.body, reply.headers, trace_id)

    # -- spans ---------------------------------------------------------------

    def spans_of(self, trace_id: str) -> list[ReceivedSpan]:
        return [span for span in self.receiver.spans if span.trace_id == trace_id]

    def wait_spans(
        self,
        trace_id: str,
        ready: Callable[[list[ReceivedSpan]], bool],
        timeout: float = SPAN_TIMEOUT_S,
    ) -> list[ReceivedSpan]:
        """Poll the receiver until the trace's spans satisfy ``ready``; returns them anyway."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans_of(trace_id)
            if ready(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)

    def server_span(self, trace_id: str) -> ReceivedSpan:
        """The request's one SERVER span, once the receiver has it."""
        spans = self.wait_spans(trace_id, lambda found: any(s.kind == "SERVER" for s in found))
        servers = [span for span in spans if span.kind == "SERVER"]
        assert len(servers) == 1, (
            f"expected one SERVER span in trace {trace_id}, got {describe(spans)}" + self.log_tail()
        )
        return servers[0]

    # -- captures ------------------------------------------------------------

    def capture_of(self, path: str) -> CaptureSummary:
        """The one capture of a request path (paths are unique per test)."""
        found = wait_for_captures(
            self.store, 1, timeout=CAPTURE_TIMEOUT_S, where=lambda c: c.path == path
        )
        assert len(found) == 1, f"captures of {path}: {found}" + self.log_tail()
        return found[0]

    def captures_after_settling(self, path: str) -> list[CaptureSummary]:
        """After a pause long enough for a capture to be written: those of ``path``."""
        time.sleep(NO_CAPTURE_SETTLE_S)
        return read_captures(self.store, lambda c: c.path == path)

    def full(self, capture_id: str) -> Capture:
        with open_store(self.store, create=False) as store:
            return store.get(capture_id)

    # -- log -----------------------------------------------------------------

    def output(self) -> str:
        return str(self.handle.output()) if self.handle.log.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return f"\n--- {self.app} server log (tail) ---\n{self.output()[-chars:]}"

    def log_problems(self) -> list[str]:
        """Lines of the server log that speak of an error or a warning."""
        return [line for line in self.output().splitlines() if LOG_PROBLEM.search(line)]


def describe(spans: list[ReceivedSpan]) -> str:
    return "; ".join(
        f"{s.kind} {s.name!r} id={s.span_id} parent={s.parent_span_id or '-'}" for s in spans
    )


def settings_env(settings: Mapping[str, Any], store: Path) -> dict[str, str]:
    """Every PROFILER_KIT_* variable: the given ones set, the others blank ("not given")."""
    defaults = {
        "max_captures_per_minute": NO_BUDGET_LIMIT,
        "slow_ms": 0,  # no slow-request watch unless a test asks
    }
    return profiler_kit_env(settings, store, defaults=defaults, extra_names=OTEL_SETTINGS)


class Launcher:
    """Starts an otel_link app with its own OTLP receiver."""

    def __init__(self, base: Any, root: Path) -> None:
        self.base = base
        self.root = root
        self._count = itertools.count()

    @contextlib.contextmanager
    def run(
        self, app: str, *, wiring: str = "", otel: str = "sdk", **settings: Any
    ) -> Iterator[LinkedServer]:
        """``run("flask", wiring="instrument-last", sample_rate=1)``: serve until the block ends.

        ``otel`` is ``sdk``, ``noop`` (instrumented, no SDK) or ``absent`` (see the apps).
        """
        kind = APPS[app]
        cwd = self.root / f"{app}-{wiring or 'default'}-{otel}-{next(self._count)}"
        cwd.mkdir(parents=True)
        store = cwd / "store" / "captures.sqlite3"
        port = self.base.free_port()
        if kind.server == "uvicorn":
            argv = self.base.uvicorn_argv(kind.target, port, "--app-dir", str(HERE))
            if app.startswith("django"):
                argv += ["--lifespan", "off"]
        else:
            argv = self.base.gunicorn_argv(
                kind.target,
                port,
                "--pythonpath",
                str(HERE),
                "--workers",
                "2",
                "--graceful-timeout",
                "5",
                *gunicorn_isolation_args(),
            )
        with OtlpHttpReceiver() as receiver:
            env = {
                **settings_env(settings, store),
                "PKT_OTEL": otel,
                "PKT_WIRING": wiring,
                "PKT_OTLP_ENDPOINT": receiver.endpoint,
                "PKT_SERVICE": f"pkot-{app}",
                "DJANGO_SETTINGS_MODULE": "",
                "PYTHONDONTWRITEBYTECODE": "1",
                # pyinstrument's note about a slow timer on a busy machine is no error
                "PYINSTRUMENT_IGNORE_OVERHEAD_WARNING": "1",
            }
            with self.base.run(argv, port=port, cwd=cwd, env=env) as handle:
                yield LinkedServer(
                    app=app,
                    app_kind=kind,
                    url=handle.url,
                    store=store,
                    receiver=receiver,
                    handle=handle,
                    http_get=self.base.get,
                    settings=dict(settings),
                )


def _root_helpers(config: pytest.Config) -> Any:
    """The root conftest's ``Servers`` helpers (free_port, run, *_argv, get)."""
    module = config.pluginmanager.get_plugin(str(ROOT_CONFTEST))
    if not isinstance(module, types.ModuleType) or not hasattr(module, "Servers"):
        for plugin in config.pluginmanager.get_plugins():
            if getattr(plugin, "__file__", None) == str(ROOT_CONFTEST):
                module = plugin
                break
    assert isinstance(module, types.ModuleType), f"{ROOT_CONFTEST} is not loaded"
    return module.Servers()


@pytest.fixture(scope="session")
def launcher(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Launcher:
    """``with launcher.run("fastapi", wiring=..., sample_rate=1) as server: ...``."""
    return Launcher(_root_helpers(pytestconfig), tmp_path_factory.mktemp("otel_link"))


@pytest.fixture
def new_id() -> Callable[[], int]:
    """Fresh integers for request paths, so each test finds only its own captures."""
    return lambda: next(_ids)


# -- checks ----------------------------------------------------------------------


def def_line(file: Path, function: str) -> int:
    """The line of ``def function`` in ``file``: what profiles call the function's line."""
    tree = ast.parse(file.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return node.lineno
    raise LookupError(f"no function {function} in {file}")


def profiler_attributes(span: ReceivedSpan) -> dict[str, Any]:
    """The span's attributes that profiler-kit sets: profiler_kit.* and code.*."""
    return {
        key: value
        for key, value in span.attributes.items()
        if key.startswith(PK_PREFIX) or key in CODE_KEYS
    }


class Checks:
    """Assertions shared by the test modules (the ``link`` fixture)."""

    new_trace = staticmethod(new_trace)
    def_line = staticmethod(def_line)
    profiler_attributes = staticmethod(profiler_attributes)
    describe = staticmethod(describe)

    def linked(self, server: LinkedServer, reply: Traced, path: str, hot: str) -> Any:
        """The request was captured and its server span and capture point at each other.

        Returns ``(server span, capture summary)``.
        """
        assert reply.status == 200, reply
        span = server.server_span(reply.trace_id)
        capture = server.capture_of(path)
        attributes = span.attributes
        assert attributes.get("profiler_kit.capture_id") == capture.id, (
            f"server span attributes {attributes}, capture {capture.id}" + server.log_tail()
        )
        assert (capture.trace_id, capture.span_id) == (span.trace_id, span.span_id), (
            f"capture has trace/span {capture.trace_id}/{capture.span_id}, "
            f"the server span is {span.trace_id}/{span.span_id}"
        )
        cpu_ms = attributes.get("profiler_kit.cpu_time_ms")
        assert isinstance(cpu_ms, float), attributes
        assert cpu_ms > 0, f"CPU-bound request, profiler_kit.cpu_time_ms={cpu_ms}"
        assert cpu_ms == pytest.approx(capture.cpu_s * 1000, rel=0.01, abs=0.5), (
            f"span says {cpu_ms} ms of CPU, the capture {capture.cpu_s * 1000} ms"
        )
        gc_ms = attributes.get("profiler_kit.gc_time_ms")
        assert isinstance(gc_ms, float), attributes
        assert gc_ms >= 0
        assert attributes.get("code.function") == hot, attributes
        filepath = attributes.get("code.filepath")
        assert isinstance(filepath, str), attributes
        assert Path(filepath).name == server.app_kind.file.name, filepath
        assert attributes.get("code.lineno") == def_line(server.app_kind.file, hot), attributes
        assert "profiler_kit.memory.peak_bytes" not in attributes, (
            "a capture without memory profiling has no peak"
        )
        return span, capture

    def unlinked(self, server: LinkedServer, reply: Traced, path: str) -> ReceivedSpan:
        """The request was not captured: its server span has no profiler-kit attributes."""
        assert reply.status == 200, reply
        span = server.server_span(reply.trace_id)
        assert profiler_attributes(span) == {}, span.attributes
        assert server.captures_after_settling(path) == []
        return span

    def derived(
        self, server: LinkedServer, trace_id: str, hot: str
    ) -> tuple[ReceivedSpan, list[ReceivedSpan]]:
        """Live derived spans of a request: children (through each other) of its server span.

        Waits until the hot function's span has arrived and every derived span's
        parent chain is complete. Returns ``(server span, derived spans)``.
        """
        span = server.server_span(trace_id)

        def complete(spans: list[ReceivedSpan]) -> bool:
            by_id = {s.span_id: s for s in spans}
            derived = [s for s in spans if s.attributes.get("profiler_kit.derived_from_samples")]
            return any(s.name == hot for s in derived) and all(
                _reaches(s, span.span_id, by_id) for s in derived
            )

        spans = server.wait_spans(trace_id, complete)
        derived = [s for s in spans if s.attributes.get("profiler_kit.derived_from_samples")]
        assert derived, f"no derived spans in trace {trace_id}: {describe(spans)}" + (
            server.log_tail()
        )
        names = sorted(s.name for s in derived)
        assert hot in names, f"{hot} not among the derived spans {names}"
        by_id = {s.span_id: s for s in spans}
        for child in derived:
            assert child.attributes["profiler_kit.derived_from_samples"] is True
            assert child.trace_id == span.trace_id
            assert child.kind == "INTERNAL", child
            assert _reaches(child, span.span_id, by_id), (
                f"{child.name} ({child.span_id}) does not lead to the server span "
                f"{span.span_id}: {describe(spans)}"
            )
            assert child.attributes.get("code.function") == child.name, child.attributes
            share = child.attributes.get("profiler_kit.share")
            assert isinstance(share, float) and 0 <= share <= 1, child.attributes
            assert child.resource.get("service.name") == span.resource.get("service.name")
        (hot_span,) = [s for s in derived if s.name == hot]
        assert hot_span.attributes.get("code.lineno") == def_line(server.app_kind.file, hot)
        return span, derived

    def within_parents(self, server_span: ReceivedSpan, derived: list[ReceivedSpan]) -> None:
        """Every derived span lies within its parent's [start, end] (the server span's for
        the top ones)."""
        by_id = {s.span_id: s for s in [server_span, *derived]}
        outside = []
        for child in derived:
            parent = by_id[child.parent_span_id]
            if not parent.start_ns <= child.start_ns <= child.end_ns <= parent.end_ns:
                outside.append(
                    f"{child.name} [{child.start_ns}, {child.end_ns}] outside its parent "
                    f"{parent.name} [{parent.start_ns}, {parent.end_ns}] by "
                    f"{(parent.start_ns - child.start_ns) / 1e6:.3f} ms at the start, "
                    f"{(child.end_ns - parent.end_ns) / 1e6:.3f} ms at the end"
                )
        assert outside == [], "\n".join(outside)


def _reaches(span: ReceivedSpan, ancestor_id: str, by_id: Mapping[str, ReceivedSpan]) -> bool:
    """Whether following parents from ``span``, through derived spans only, reaches
    ``ancestor_id``."""
    current = span
    for _ in range(len(by_id) + 1):
        if current.parent_span_id == ancestor_id:
            return True
        parent = by_id.get(current.parent_span_id)
        if parent is None or not parent.attributes.get("profiler_kit.derived_from_samples"):
            return False
        current = parent
    return False


@pytest.fixture(scope="session")
def link() -> Checks:
    """Shared assertions: ``link.linked(server, reply, path, hot)``, ``unlinked``, ``derived``."""
    return Checks()
