"""Whether the OTLP endpoint that span export would use accepts connections.

Only a TCP connection is tried: it finds the usual mistakes (wrong host or
port, collector not running, firewall) without speaking the protocol.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from profiler_kit.doctor.results import Check

__all__ = ["CONNECT_TIMEOUT_S", "check_otlp", "otlp_endpoint", "parse_endpoint"]

CONNECT_TIMEOUT_S = 2.0
_OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def otlp_endpoint(option: str | None, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The endpoint to check and where it came from, as ``export otlp`` would choose it."""
    if option:
        return option, "--otlp-endpoint"
    for variable in _OTLP_ENDPOINT_VARIABLES:
        if environ.get(variable):
            return environ[variable], variable
    return None


def parse_endpoint(url: str) -> tuple[str, int]:
    """Host and port of an OTLP endpoint URL (``http://h:4318``, ``h:4317``)."""
    text = url.strip()
    parts = urlsplit(text if "://" in text else "//" + text)
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError(f"{url!r} has an invalid port") from error
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    if port is None:
        port = {"http": 80, "https": 443}.get(parts.scheme)
        if port is None:
            raise ValueError(f"{url!r} names no port")
    return parts.hostname, port


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_otlp(
    endpoint: tuple[str, str] | None, *, timeout: float = CONNECT_TIMEOUT_S
) -> list[Check]:
    """A TCP connection to the OTLP endpoint (the protocol itself is not spoken)."""
    if endpoint is None:
        return [
            Check(
                "otlp",
                "info",
                "no OTLP endpoint configured (--otlp-endpoint, OTEL_EXPORTER_OTLP_ENDPOINT, "
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): not checked",
            )
        ]
    url, source = endpoint
    fix = f"start the collector, or correct {source}"
    try:
        host, port = parse_endpoint(url)
    except ValueError as error:
        return [Check("otlp", "fail", f"OTLP endpoint from {source}: {error}", fix=fix)]
    address = _address(host, port)
    details = {"endpoint": url, "source": source, "address": address}
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror as error:
        problem = f"cannot resolve {host}: {error.strerror}"
    except TimeoutError:
        problem = f"no answer within {timeout:g} s"
    except OSError as error:
        problem = error.strerror or str(error)
    else:
        checks = [
            Check(
                "otlp",
                "ok",
                f"OTLP endpoint {url} (from {source}) accepts TCP connections on {address}",
                details=details,
            )
        ]
        if url.strip().lower().startswith("http://") and not _is_loopback(host):
            checks.append(
                Check(
                    "otlp.tls",
                    "info",
                    f"{url} is plain http: spans (function names, file and URL paths) "
                    "cross the network unencrypted",
                    details=details,
                )
            )
        return checks
    return [
        Check(
            "otlp",
            "fail",
            f"OTLP endpoint {url} (from {source}) is unreachable: cannot connect to "
            f"{address}: {problem}",
            fix=fix,
            details=details,
        )
    ]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
