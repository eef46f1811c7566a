"""``profiler-kit export otlp``: captures as OpenTelemetry spans, sent over OTLP."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from profiler_kit.cli.export import CaptureChoice, capture_choice_options, export
from profiler_kit.errors import ProfilerKitError
from profiler_kit.units import counted

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["otlp"]


@export.command("otlp")
@capture_choice_options
@click.option(
    "--endpoint",
    metavar="URL",
    help="Where to send: http://host:4318 for http/protobuf (/v1/traces is added), "
    "http://host:4317 for grpc. [default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "
    "$OTEL_EXPORTER_OTLP_ENDPOINT, then localhost]",
)
@click.option(
    "--protocol",
    type=click.Choice(["http/protobuf", "grpc"]),
    default=None,
    help="OTLP transport. [default: $OTEL_EXPORTER_OTLP_PROTOCOL, then http/protobuf]",
)
@click.option(
    "--min-share",
    type=click.FloatRange(0.0, 1.0),
    default=0.05,
    show_default=True,
    help="Only frames with at least this share of their capture become spans.",
)
@click.option(
    "--min-frame-ms",
    type=click.FloatRange(0.0),
    default=1.0,
    show_default=True,
    help="Only frames that ran at least this long become spans.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1),
    default=512,
    show_default=True,
    help="Spans per export request (a capture's spans are never split).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="Seconds to keep retrying one batch before giving up.",
)
def otlp(
    choice: CaptureChoice,
    endpoint: str | None,
    protocol: str | None,
    min_share: float,
    min_frame_ms: float,
    batch_size: int,
    timeout: float,
) -> None:
    """Send captures to an OpenTelemetry collector or tracing backend as spans.

    Each capture becomes a request span (joining the request's original trace
    when one was active while it was captured) with child spans for the frames
    that took at least --min-share of it and --min-frame-ms. Child spans are
    derived from samples: their lengths are measured, their start times are
    laid out in call order and marked profiler_kit.derived_from_samples.

    The standard OTEL_EXPORTER_OTLP_* variables (endpoint, protocol, headers,
    certificates) and OTEL_SERVICE_NAME apply. Exits 1 when the endpoint is
    unreachable or refuses a batch, saying how much was sent.

    \b
    Examples:
      profiler-kit export otlp --endpoint http://127.0.0.1:4318 --since 1h
      OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317 \\
        profiler-kit export otlp --protocol grpc --route '/checkout'
    """
    from profiler_kit.analysis.capture_view import CaptureView
    from profiler_kit.otel.export import (
        ExportProgress,
        Resources,
        capture_spans,
        export_spans,
        make_exporter,
    )

    total = choice.count()
    if total == 0:
        choice.raise_empty()
    exporter, shown = make_exporter(
        "grpc" if protocol == "grpc" else ("http/protobuf" if protocol else None),
        endpoint,
        timeout,
    )
    resources = Resources()
    skipped: list[str] = []

    def spans_per_capture() -> Iterator[list[ReadableSpan]]:
        for capture in choice.captures():
            try:
                view = CaptureView.load(capture)
            except ProfilerKitError as error:
                skipped.append(str(error))
                continue
            yield capture_spans(
                view,
                min_share=min_share,
                min_frame_ms=min_frame_ms,
                resource=resources.for_capture(capture),
            )

    with click.progressbar(length=total, label="exporting", file=sys.stderr) as bar:
        done = [0]

        def advance(progress: ExportProgress) -> None:
            bar.update(progress.captures - done[0])
            done[0] = progress.captures

        result = export_spans(
            exporter,
            spans_per_capture(),
            batch_size=batch_size,
            endpoint=shown,
            total_captures=total,
            on_batch=advance,
        )
    if result.captures == 0:
        choice.raise_empty(skipped)
    for line in skipped[:10]:
        click.echo(f"profiler-kit: warning: skipped {line}", err=True)
    if len(skipped) > 10:
        click.echo(f"profiler-kit: warning: ... and {len(skipped) - 10} more skipped", err=True)
    click.echo(
        f"exported {counted(result.captures, 'capture')} as {counted(result.spans, 'span')} "
        f"to {shown}",
        err=True,
    )
