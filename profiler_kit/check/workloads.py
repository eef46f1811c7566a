"""What ``profiler-kit bench`` runs: scripts, and an app's endpoints called in process.

Endpoints are called through the app's own WSGI or ASGI interface, with no
server and no socket: a network round trip would add noise larger than the
regressions a check looks for. An ASGI app gets its lifespan startup once,
on an event loop that lives as long as the workload.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import importlib
import inspect
import io
import os
import sys
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from profiler_kit.errors import ProfilerKitError

__all__ = [
    "AsgiRequest",
    "RequestSpec",
    "ScriptWorkload",
    "Workload",
    "WorkloadError",
    "WsgiRequest",
    "build_workloads",
    "load_app",
    "request_workloads",
]


T = TypeVar("T")


class WorkloadError(ProfilerKitError):
    """A workload cannot be run as asked (bad spec, failing request, script error)."""


class Workload(Protocol):
    name: str
    kind: str  # "script" or "request"
    method: str | None
    path: str | None

    def setup(self) -> None: ...

    def run(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class ScriptWorkload:
    """A Python script, run as ``__main__`` in this process, its output discarded."""

    script: Path
    args: list[str] = field(default_factory=list)
    kind: str = "script"
    method: str | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        self.name = str(self.script)
        self._code: Any = None

    def setup(self) -> None:
        # Made once here, so each run's own counts hold the script's work only.
        self._directory = str(self.script.parent.absolute())
        self._sink = open(os.devnull, "w")  # noqa: SIM115 - closed by close()
        try:
            source = self.script.read_bytes()
        except OSError as error:
            raise WorkloadError(f"cannot read {self.script}: {error.strerror}") from error
        try:
            self._code = compile(source, str(self.script), "exec")
        except SyntaxError as error:
            raise WorkloadError(f"{self.script} does not compile: {error}") from error

    def run(self) -> None:
        namespace = {
            "__name__": "__main__",
            "__file__": str(self.script),
            "__builtins__": builtins,
        }
        saved_argv, saved_path0, saved_stdout = (
            sys.argv,
            sys.path[0] if sys.path else None,
            sys.stdout,
        )
        sys.argv = [str(self.script), *self.args]
        if sys.path:
            sys.path[0] = self._directory
        sys.stdout = self._sink
        try:
            exec(self._code, namespace)  # noqa: S102 - running the script is the point
        except SystemExit as done:
            if done.code not in (None, 0):
                raise WorkloadError(f"{self.script} exited with status {done.code}") from None
        except Exception as error:
            raise WorkloadError(f"{self.script} raised {type(error).__name__}: {error}") from None
        finally:
            sys.stdout = saved_stdout
            sys.argv = saved_argv
            if saved_path0 is not None:
                sys.path[0] = saved_path0

    def close(self) -> None:
        sink = getattr(self, "_sink", None)
        if sink is not None:
            sink.close()


@dataclass(frozen=True)
class RequestSpec:
    """``GET /checkout`` or ``POST /cart @body.json`` (the body read from a file)."""

    method: str
    path: str
    query: str
    body: bytes
    content_type: str | None

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}" + (f"?{self.query}" if self.query else "")

    @classmethod
    def parse(cls, text: str, *, base: Path | None = None) -> RequestSpec:
        parts = text.split()
        if len(parts) not in (2, 3) or not parts[1].startswith("/"):
            raise WorkloadError(
                f"request {text!r} is not 'METHOD /path' or 'METHOD /path @body-file'"
            )
        method, target = parts[0].upper(), parts[1]
        path, _, query = target.partition("?")
        body, content_type = b"", None
        if len(parts) == 3:
            if not parts[2].startswith("@"):
                raise WorkloadError(f"request {text!r}: a body is given as @file")
            body_path = (base or Path.cwd()) / parts[2][1:]
            try:
                body = body_path.read_bytes()
            except OSError as error:
                raise WorkloadError(f"cannot read the body {body_path}: {error.strerror}") from None
            content_type = "application/json" if body_path.suffix == ".json" else None
        return cls(method, path, query, body, content_type)


def load_app(reference: str) -> Any:
    """``package.module:attribute`` imported with the working directory on ``sys.path``."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise WorkloadError(f"--app {reference!r} is not MODULE:ATTRIBUTE (e.g. myapp.main:app)")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        app: Any = importlib.import_module(module_name)
    except Exception as error:  # SyntaxError, or anything the module raises on import
        raise WorkloadError(
            f"cannot import {module_name}: {type(error).__name__}: {error}"
        ) from None
    for name in attribute.split("."):
        try:
            app = getattr(app, name)
        except AttributeError:
            raise WorkloadError(f"{module_name} has no attribute {attribute!r}") from None
    if not callable(app):
        raise WorkloadError(f"{reference} is not a WSGI or ASGI application")
    return app


def build_workloads(
    script: Path | None, script_args: list[str], app_ref: str | None, requests: list[str]
) -> list[Workload]:
    """The bench's targets in their order: the script first, then each request of the app.

    One function for the bench and for the child processes that count
    instructions, so both measure the same targets in the same order.
    """
    workloads: list[Workload] = []
    if script is not None:
        if not script.is_file():
            raise WorkloadError(f"no such script: {script}")
        workloads.append(ScriptWorkload(script, list(script_args)))
    if app_ref is not None:
        # The app's own profiler-kit middleware would profile (and store) every
        # benchmarked request: off unless the environment asks for it.
        os.environ.setdefault("PROFILER_KIT_ENABLED", "false")
        specs = [RequestSpec.parse(text) for text in requests]
        workloads.extend(request_workloads(load_app(app_ref), specs))
    return workloads


def is_asgi(app: Any) -> bool:
    call = app if inspect.isfunction(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(app)


def request_workloads(app: Any, specs: list[RequestSpec]) -> list[Workload]:
    if is_asgi(app):
        loop = _AsgiLoop(app)
        return [AsgiRequest(spec, loop) for spec in specs]
    return [WsgiRequest(spec, app) for spec in specs]


def _guarded(name: str, call: Callable[[], T]) -> T:
    """The app's own exception, as an error naming the request instead of a traceback."""
    try:
        return call()
    except WorkloadError:
        raise
    except Exception as error:
        raise WorkloadError(
            f"{name} raised {type(error).__name__}: {error} (is it a WSGI or ASGI app?)"
        ) from None


def _check_status(name: str, status: int | None, body: bytes) -> None:
    if status is None:
        raise WorkloadError(f"{name}: the app sent no response")
    if status >= 400:
        excerpt = " ".join(body[:300].decode("utf-8", "replace").split())[:160]
        raise WorkloadError(
            f"{name} answered {status}{': ' + excerpt if excerpt else ''} "
            "(a benchmark of a failing request measures the failure)"
        )


class WsgiRequest:
    """One request through a WSGI app's callable, body read to the end."""

    kind = "request"

    def __init__(self, spec: RequestSpec, app: Callable[..., Any]) -> None:
        self.spec = spec
        self.app = app
        self.name = spec.name
        self.method: str | None = spec.method
        self.path: str | None = spec.path

    def setup(self) -> None:
        status, body = _guarded(self.name, self._call)
        _check_status(self.name, status, body)

    def run(self) -> None:
        _guarded(self.name, self._call)

    def _call(self) -> tuple[int | None, bytes]:
        spec = self.spec
        environ: dict[str, Any] = {
            "REQUEST_METHOD": spec.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": spec.path,
            "QUERY_STRING": spec.query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "CONTENT_LENGTH": str(len(spec.body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(spec.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if spec.content_type:
            environ["CONTENT_TYPE"] = spec.content_type
        status: list[int] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> Callable[..., Any]:
            status.append(int(line[:3]))
            return lambda data: None

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return (status[-1] if status else None), body

    def close(self) -> None:
        pass


Message = MutableMapping[str, Any]


class _AsgiLoop:
    """An event loop for one ASGI app, with its lifespan started once."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lifespan: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] | None = None
        self._users = 0

    def open(self) -> asyncio.AbstractEventLoop:
        self._users += 1
        if self.loop is None:
            self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(self._start_lifespan())
        return self.loop

    async def _start_lifespan(self) -> None:
        self._to_app = asyncio.Queue()
        from_app: asyncio.Queue[Message] = asyncio.Queue()
        await self._to_app.put({"type": "lifespan.startup"})

        async def lifespan() -> None:
            assert self._to_app is not None
            scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
            with contextlib.suppress(Exception):  # apps without lifespan support raise
                await self.app(scope, self._to_app.get, from_app.put)
            await from_app.put({"type": "lifespan.unsupported"})

        self._lifespan = asyncio.ensure_future(lifespan())
        answer = await from_app.get()
        if answer["type"] == "lifespan.startup.failed":
            raise WorkloadError(f"the app's startup failed: {answer.get('message', '')}")

    def close(self) -> None:
        self._users -= 1
        if self._users > 0 or self.loop is None:
            return
        loop, self.loop = self.loop, None
        try:
            if self._to_app is not None and self._lifespan is not None:
                loop.run_until_complete(self._to_app.put({"type": "lifespan.shutdown"}))
                with contextlib.suppress(Exception):
                    loop.run_until_complete(asyncio.wait_for(self._lifespan, 5))
        finally:
            loop.close()


class AsgiRequest:
    """One request through an ASGI app, on the app's own event loop."""

    kind = "request"

    def __init__(self, spec: RequestSpec, shared: _AsgiLoop) -> None:
        self.spec = spec
        self.shared = shared
        self.name = spec.name
        self.method: str | None = spec.method
        self.path: str | None = spec.path
        self._loop: asyncio.AbstractEventLoop | None = None

    def setup(self) -> None:
        loop = self._loop = self.shared.open()
        status, body = _guarded(self.name, lambda: loop.run_until_complete(self._call()))
        _check_status(self.name, status, body)

    def run(self) -> None:
        loop = self._loop
        assert loop is not None, "setup() first"
        _guarded(self.name, lambda: loop.run_until_complete(self._call()))

    async def _call(self) -> tuple[int | None, bytes]:
        spec = self.spec
        headers = [(b"host", b"127.0.0.1"), (b"content-length", str(len(spec.body)).encode())]
        if spec.content_type:
            headers.append((b"content-type", spec.content_type.encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": spec.method,
            "scheme": "http",
            "path": spec.path,
            "raw_path": spec.path.encode(),
            "query_string": spec.query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        sent_body = False
        status: int | None = None
        chunks: list[bytes] = []
        done = asyncio.Event()

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": spec.body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    done.set()

        await self.shared.app(scope, receive, send)
        done.set()
        return status, b"".join(chunks)

    def close(self) -> None:
        if self._loop is not None:
            self._loop = None
            self.shared.close()
