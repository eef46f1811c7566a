"""Helpers shared by every test directory: real servers on loopback, store polling."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
TESTS_DIR = Path(__file__).resolve().parent
# Modules shared by several test folders (client_scenarios, aggregate_captures,
# report_reading) live here; --import-mode=importlib puts no test folder on sys.path.
if str(TESTS_DIR) not in sys.path:
    sys.path.append(str(TESTS_DIR))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]


def http_get(url: str, headers: Mapping[str, str] | None = None, timeout: float = 30) -> Response:
    """One GET on loopback; HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return Response(reply.status, reply.read(), dict(reply.headers))
    except urllib.error.HTTPError as error:
        with error:  # an unclosed HTTPError is a ResourceWarning when collected (3.14)
            return Response(error.code, error.read(), dict(error.headers))


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def run_server(
    argv: Sequence[str],
    *,
    port: int,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[Server]:
    """Start a server command (uvicorn, gunicorn, ...) and wait until it accepts connections.

    On exit the server gets SIGTERM (gunicorn and uvicorn shut down gracefully,
    which flushes queued captures) and is killed if it has not stopped in 20 s.
    """
    log = cwd / f"server-{port}.log"
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PYTHONPATH", None)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=full_env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{server.output()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"server did not start in {startup_timeout} s:\n{server.output()}"
                )
            time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def uvicorn_argv(app: str, port: int, *extra: str) -> list[str]:
    return [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", *extra]  # fmt: skip


def gunicorn_argv(app: str, port: int, *extra: str) -> list[str]:
    return [str(BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
            *extra]  # fmt: skip


class Servers:
    """What the ``servers`` fixture gives a test: start servers, send requests."""

    free_port = staticmethod(free_port)
    run = staticmethod(run_server)
    uvicorn_argv = staticmethod(uvicorn_argv)
    gunicorn_argv = staticmethod(gunicorn_argv)
    get = staticmethod(http_get)


@pytest.fixture
def servers() -> Servers:
    """Real servers on loopback: ``servers.run(servers.uvicorn_argv(...), port=..., cwd=...)``."""
    return Servers()


# -- OTLP receivers (profiler_kit.testing.otlp_receiver) --------------------------------------

from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:  # imported lazily: only tests of OTLP exports need grpc
    from profiler_kit.testing.otlp_receiver import OtlpGrpcReceiver, OtlpHttpReceiver


@pytest.fixture
def otlp_http_receiver(request: pytest.FixtureRequest) -> Iterator[OtlpHttpReceiver]:
    """A started OTLP/HTTP trace receiver on loopback: ``receiver.endpoint``, ``.spans``.

    Parametrize indirectly with keyword arguments to make it fail, e.g.
    ``@pytest.mark.parametrize("otlp_http_receiver", [{"fail_status": 503}], indirect=True)``.
    """
    from profiler_kit.testing.otlp_receiver import OtlpHttpReceiver

    with OtlpHttpReceiver(**getattr(request, "param", {})) as receiver:
        yield receiver


@pytest.fixture
def otlp_grpc_receiver(request: pytest.FixtureRequest) -> Iterator[OtlpGrpcReceiver]:
    """A started OTLP/gRPC trace receiver on loopback: ``receiver.endpoint``, ``.spans``.

    Parametrize indirectly to make it fail, e.g. with
    ``{"fail_code": grpc.StatusCode.UNAVAILABLE, "fail_from": 2}``.
    """
    from profiler_kit.testing.otlp_receiver import OtlpGrpcReceiver

    with OtlpGrpcReceiver(**getattr(request, "param", {})) as receiver:
        yield receiver
