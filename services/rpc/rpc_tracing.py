"""Traces and RPC metrics of every call, through the interceptors of both ends, after the
OpenTelemetry semantic conventions for RPC (v1.44, as connectrpc-otel and otelconnect follow
them): a span per call named `package.Service/Method`, `rpc.system.name` `grpc` (gRPC and
gRPC-Web) or `connectrpc`, `rpc.method`, `rpc.response.status_code`; W3C trace context and
baggage carried in the call's headers (gRPC metadata alike); the `rpc.server.call.duration`
and `rpc.client.call.duration` histograms in seconds when metrics are configured.

A server span continues the caller's context; a client span is a child of the caller's
current span and sends its own context on. A server span is an error for the codes that mean
the server failed (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE,
DATA_LOSS), a client span for any code but OK.
"""

from __future__ import annotations

import time
from typing import Final

from grpclib.const import Status
from grpclib.exceptions import GRPCError
from opentelemetry import context, metrics, propagate, trace
from opentelemetry.trace import SpanKind, StatusCode

from services.common.trace_headers import bounded
from services.wire.connect import Code

from .call import CallInfo
from .client_interceptors import ClientCall
from .interceptors import Proceed, RpcMethod

SERVER_FAULTS: Final = frozenset({
    Status.UNKNOWN, Status.DEADLINE_EXCEEDED, Status.UNIMPLEMENTED, Status.INTERNAL,
    Status.UNAVAILABLE, Status.DATA_LOSS,
})  # fmt: skip
DURATION_BUCKETS: Final = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                           0.5, 1.0, 2.5, 5.0, 10.0)  # fmt: skip


def rpc_system(transport: str) -> str:
    return "connectrpc" if transport == "connect" else "grpc"


def _durations(
    meter: metrics.Meter | None, name: str, description: str
) -> metrics.Histogram | None:
    """The semantic conventions' call duration histogram, in seconds (None without metrics)."""
    if meter is None:
        return None
    return meter.create_histogram(
        name, unit="s", description=description,
        explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
    )  # fmt: skip


class ServerTracing:
    """The server interceptor: a span per call, in the caller's trace."""

    def __init__(self, tracer: trace.Tracer, meter: metrics.Meter | None = None) -> None:
        self._tracer = tracer
        self._duration = _durations(
            meter, "rpc.server.call.duration", "RPCs served, their duration"
        )
        # The propagators' headers, named once (not per call): set up before any server is.
        self._fields = tuple(propagate.get_global_textmap().fields)

    async def intercept(self, method: RpcMethod, call: CallInfo, proceed: Proceed) -> None:
        headers = call.headers
        parent = propagate.extract(
            bounded((n, v) for n in self._fields if (v := headers.get(n)) is not None)
        )
        name = method.path.lstrip("/")
        system = rpc_system(call.transport)
        attributes = {"rpc.system.name": system, "rpc.method": name}
        started = time.perf_counter()
        # The caller's context made current first: with it as the span's `context=` alone,
        # its baggage would not be current in the handler.
        token = context.attach(parent)
        try:
            await self._serve(name, attributes, proceed, started)
        finally:
            context.detach(token)

    async def _serve(
        self, name: str, attributes: dict[str, str], proceed: Proceed, started: float
    ) -> None:
        status = Status.OK
        with self._tracer.start_as_current_span(
            name, kind=SpanKind.SERVER, attributes=attributes,
            record_exception=False, set_status_on_exception=False,
        ) as span:  # fmt: skip
            try:
                await proceed()
            except GRPCError as error:
                status = error.status
                raise
            except TimeoutError:
                status = Status.DEADLINE_EXCEEDED
                raise
            except BaseException:
                status = Status.UNKNOWN
                raise
            finally:
                span.set_attribute("rpc.response.status_code", status.name)
                if status in SERVER_FAULTS:
                    span.set_status(StatusCode.ERROR, status.name)
                if self._duration is not None:
                    self._duration.record(
                        time.perf_counter() - started,
                        {**attributes, "rpc.response.status_code": status.name},
                    )


class ClientTracing:
    """The client interceptor: a span per call attempt, its context sent on."""

    def __init__(self, tracer: trace.Tracer, meter: metrics.Meter | None = None) -> None:
        self._tracer = tracer
        self._duration = _durations(meter, "rpc.client.call.duration", "RPCs made, their duration")

    def before(self, call: ClientCall) -> None:
        name = call.path.lstrip("/")
        attributes = {"rpc.system.name": rpc_system(call.protocol), "rpc.method": name}
        if call.server:
            host, _, port = call.server.rpartition(":")
            attributes["server.address"] = host
            attributes["server.port"] = port
        span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        propagate.inject(call.headers, context=trace.set_span_in_context(span))
        call.state["span"] = span
        call.state["started"] = time.perf_counter()
        call.state["attributes"] = attributes

    def after(self, call: ClientCall) -> None:
        span = call.state.pop("span", None)
        if span is None:
            return
        code = "OK" if call.error is None else _status_of(call.error.code)
        span.set_attribute("rpc.response.status_code", code)
        if call.error is not None:
            span.set_status(StatusCode.ERROR, call.error.message)
        span.end()
        if self._duration is not None:
            elapsed = time.perf_counter() - call.state["started"]
            attributes = {**call.state["attributes"], "rpc.response.status_code": code}
            attributes.pop("server.port", None)
            self._duration.record(elapsed, attributes)


def _status_of(code: Code) -> str:
    return "CANCELLED" if code is Code.CANCELED else code.name
