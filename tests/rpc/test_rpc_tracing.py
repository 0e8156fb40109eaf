"""The tracing interceptors in process, on an SDK provider of the test's own: the client's span
sends its context on in the call's headers and ends with the call's code; the server's span
continues the context it finds, is an error only for the codes that mean the server failed, and
both time the call when metrics are on. (Across real processes: tests/integration/
test_tracing.py.)"""

from __future__ import annotations

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from opentelemetry import baggage
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from services.rpc.call import CallInfo
from services.rpc.client_interceptors import ClientCall
from services.rpc.interceptors import RpcMethod
from services.rpc.rpc_tracing import ClientTracing, ServerTracing
from services.wire.connect import Code, ConnectError

TRACE = "0af7651916cd43dd8448eb211c80319c"
METHOD = RpcMethod("/kugel.item.v1.ItemService/GetItemDetail", "kugel.item.v1.ItemService",
                   "GetItemDetail", streaming=False)  # fmt: skip


class Sdk:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.tracer = provider.get_tracer("test")
        self.metrics = InMemoryMetricReader()
        self.meter = MeterProvider(metric_readers=[self.metrics]).get_meter("test")

    def histogram(self, name: str) -> int:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return sum(
            point.count
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points  # type: ignore[union-attr]
        )


@pytest.fixture
def sdk() -> Sdk:
    return Sdk()


def test_a_client_span_sends_its_context_and_ends_with_the_calls_code(sdk: Sdk) -> None:
    tracing = ClientTracing(sdk.tracer, sdk.meter)
    call = ClientCall(METHOD.path, "connect", False, {}, 5.0, server="127.0.0.1:8002")
    tracing.before(call)
    call.error = ConnectError(Code.NOT_FOUND, "no such item")
    tracing.after(call)
    (span,) = sdk.spans.get_finished_spans()
    assert span.name == "kugel.item.v1.ItemService/GetItemDetail"
    assert span.kind is SpanKind.CLIENT
    assert span.attributes is not None
    assert span.attributes["rpc.system.name"] == "connectrpc"
    assert span.attributes["rpc.response.status_code"] == "NOT_FOUND"
    assert span.attributes["server.address"] == "127.0.0.1"
    assert span.status.status_code is StatusCode.ERROR
    span_id = format(span.context.span_id, "016x")
    assert call.headers["traceparent"].split("-")[2] == span_id  # the server's parent
    assert sdk.histogram("rpc.client.call.duration") == 1


@pytest.mark.parametrize(
    ("raised", "code", "error"),
    [
        pytest.param(None, "OK", False, id="answered"),
        pytest.param(GRPCError(Status.NOT_FOUND, "no"), "NOT_FOUND", False, id="an answer"),
        pytest.param(GRPCError(Status.UNAVAILABLE, "down"), "UNAVAILABLE", True, id="a fault"),
        pytest.param(RuntimeError("a bug"), "UNKNOWN", True, id="a bug"),
    ],
)
async def test_a_server_span_continues_the_callers_trace(
    sdk: Sdk, raised: BaseException | None, code: str, error: bool
) -> None:
    tracing = ServerTracing(sdk.tracer, sdk.meter)
    call = CallInfo(headers={"traceparent": f"00-{TRACE}-b7ad6b7169203331-01"}, transport="grpc")

    async def handler() -> None:
        if raised is not None:
            raise raised

    try:
        await tracing.intercept(METHOD, call, handler)
    except (GRPCError, RuntimeError):
        assert raised is not None
    (span,) = sdk.spans.get_finished_spans()
    assert format(span.context.trace_id, "032x") == TRACE
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    assert span.kind is SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["rpc.response.status_code"] == code
    assert span.attributes["rpc.system.name"] == "grpc"
    assert (span.status.status_code is StatusCode.ERROR) is error
    assert sdk.histogram("rpc.server.call.duration") == 1


async def test_the_callers_baggage_is_current_in_the_handler(sdk: Sdk) -> None:
    tracing = ServerTracing(sdk.tracer)
    headers = {"traceparent": f"00-{TRACE}-b7ad6b7169203331-01", "baggage": "store=S001"}
    seen: dict[str, object] = {}

    async def handler() -> None:
        seen.update(baggage.get_all())

    await tracing.intercept(METHOD, CallInfo(headers=headers, transport="grpc"), handler)
    assert seen == {"store": "S001"}
    assert baggage.get_all() == {}  # nothing left attached
