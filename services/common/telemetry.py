"""OpenTelemetry, set up the standard way: from the standard variables, and only when they ask.

Tracing is on when `OTEL_TRACES_EXPORTER` is `otlp` or `console`, or an OTLP endpoint is named
(`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); metrics when
`OTEL_METRICS_EXPORTER` is `otlp` or `console`. The SDK itself reads the rest: the sampler
(`OTEL_TRACES_SAMPLER`, `_ARG`), the propagators (`OTEL_PROPAGATORS`), the endpoint, headers and
timeouts of the OTLP exporter (HTTP/protobuf: `OTEL_EXPORTER_OTLP_PROTOCOL` may be
`http/protobuf` only). With none of them set nothing is installed: no provider, no exporter
thread, and the services add no tracing to a call at all.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from .setup_errors import SetupError
from .throttled_log import OncePerMinute

EXPORTERS: Final = ("otlp", "console", "none")
SCOPE: Final = "kugel-item-master"


class TelemetrySetupError(SetupError):
    """A variable asks for what this build cannot do (said at start, in one line)."""


@dataclass
class Telemetry:
    """The tracer and meter the services use; `shutdown` exports what is left."""

    tracer: trace.Tracer
    meter: metrics.Meter | None
    _tracing: TracerProvider
    _metering: MeterProvider | None

    def shutdown(self) -> None:
        self._tracing.shutdown()
        if self._metering is not None:
            self._metering.shutdown()


def _one_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + "\n"


# The loggers of OpenTelemetry's propagators, which warn per invalid header member.
PROPAGATOR_LOGGERS = ("opentelemetry.baggage.propagation", "opentelemetry.propagators",
                      "opentelemetry.trace.propagation", "opentelemetry.propagate")  # fmt: skip


def _choice(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip().lower()
    if value and value not in EXPORTERS:
        raise TelemetrySetupError(f"{name}={value!r}: expected one of {', '.join(EXPORTERS)}")
    return value


def configure_telemetry(
    service_name: str, environ: Mapping[str, str] = os.environ
) -> Telemetry | None:
    """The providers the standard variables ask for (installed as the global ones, so the
    propagators and any library see them), or None when they ask for nothing."""
    traces = _choice(environ, "OTEL_TRACES_EXPORTER")
    named = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    if not traces and named:
        traces = "otlp"
    meters = _choice(environ, "OTEL_METRICS_EXPORTER")
    if traces in ("", "none"):
        return None
    protocol = environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    if protocol != "http/protobuf":
        raise TelemetrySetupError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: this build exports http/protobuf only"
        )
    for propagator_log in PROPAGATOR_LOGGERS:  # checked before they parse; a stray line at most
        logging.getLogger(propagator_log).addFilter(OncePerMinute())
    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME") or service_name})
    tracing = TracerProvider(resource=resource)
    tracing.add_span_processor(BatchSpanProcessor(_span_exporter(traces)))
    trace.set_tracer_provider(tracing)
    metering = None
    if meters in ("otlp", "console"):
        reader = PeriodicExportingMetricReader(_metric_exporter(meters))
        metering = MeterProvider(resource=resource, metric_readers=[reader])
        metrics.set_meter_provider(metering)
    return Telemetry(
        tracer=tracing.get_tracer(SCOPE),
        meter=metering.get_meter(SCOPE) if metering is not None else None,
        _tracing=tracing,
        _metering=metering,
    )


def _span_exporter(kind: str) -> SpanExporter:
    if kind == "console":  # one JSON object a line, on stdout (logs go to stderr)
        return ConsoleSpanExporter(out=sys.stdout, formatter=_one_line)
    return OTLPSpanExporter()


def _metric_exporter(kind: str) -> MetricExporter:
    if kind == "console":
        return ConsoleMetricExporter(out=sys.stdout)
    return OTLPMetricExporter()
