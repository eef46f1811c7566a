"""OpenTelemetry set-up shared by the apps the otel_link tests serve (not a test module).

Environment read here:

* ``PKT_OTEL``: ``sdk`` (the default) installs an SDK ``TracerProvider`` with a
  ``SimpleSpanProcessor`` and the OTLP/HTTP exporter sending to
  ``PKT_OTLP_ENDPOINT`` (``http://127.0.0.1:PORT``); ``noop`` instruments the
  app but configures no SDK, so the API's default no-op provider is in use;
  ``absent`` leaves OpenTelemetry out of the app altogether.
* ``PKT_WIRING``: how the app orders its middlewares (each app documents its own values).
* ``PKT_SERVICE``: ``service.name`` of the SDK resource.

Every app also defines CPU-bound "hot" functions whose names start with
``pkot_``: the loop is inside the function itself, so the profile charges its
time to that function (hashlib's C code has no frame of its own).
"""

from __future__ import annotations

import os

HOT_ROUNDS = 200_000  # about 80 ms of SHA-256 on a 2020s CPU
ALLOCATION_BYTES = 24 * 1024 * 1024


def otel_mode() -> str:
    mode = os.environ.get("PKT_OTEL", "") or "sdk"
    if mode not in ("sdk", "noop", "absent"):
        raise ValueError(f"PKT_OTEL must be sdk, noop or absent, not {mode!r}")
    return mode


def wiring(default: str) -> str:
    return os.environ.get("PKT_WIRING", "") or default


def configure_tracing() -> str:
    """Install the SDK when ``PKT_OTEL=sdk``; returns the mode."""
    mode = otel_mode()
    if mode != "sdk":
        return mode
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    endpoint = os.environ["PKT_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
    resource = Resource.create({"service.name": os.environ.get("PKT_SERVICE", "pkot-app")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5)))
    trace.set_tracer_provider(provider)
    return mode
