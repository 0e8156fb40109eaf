"""The request span, in process with the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import baggage, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from services.common.http_tracing import traced

ROUTE = "/carts/{cart_id}"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def traced_app() -> Iterator[tuple[TestClient, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    async def endpoint(request: Request) -> Response:
        if request.path_params["cart_id"] == "boom":
            raise RuntimeError("boom")
        current = trace.get_current_span().get_span_context()
        return JSONResponse(
            {"trace": f"{current.trace_id:032x}", "baggage": dict(baggage.get_all())},
            status_code=503 if request.path_params["cart_id"] == "down" else 200,
        )

    app = Starlette(routes=[Route(ROUTE, traced(tracer, endpoint, ROUTE))])
    yield TestClient(app, raise_server_exceptions=False), exporter
    provider.shutdown()


def test_a_request_is_a_server_span_in_the_callers_trace_with_its_baggage(
    traced_app: tuple[TestClient, InMemorySpanExporter],
) -> None:
    client, spans = traced_app
    headers = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01", "baggage": "store=S001"}
    answer = client.get("/carts/c1", headers=headers).json()
    assert answer == {"trace": TRACE_ID, "baggage": {"store": "S001"}}
    (span,) = spans.get_finished_spans()
    assert (span.name, span.kind) == (f"GET {ROUTE}", SpanKind.SERVER)
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET", "http.route": ROUTE, "url.path": "/carts/c1",
        "url.scheme": "http", "http.response.status_code": 200,
    }  # fmt: skip
    assert span.status.status_code is StatusCode.UNSET


def test_a_request_without_a_caller_starts_a_trace(
    traced_app: tuple[TestClient, InMemorySpanExporter],
) -> None:
    client, spans = traced_app
    answer = client.get("/carts/c1").json()
    (span,) = spans.get_finished_spans()
    assert span.parent is None
    assert answer["trace"] == f"{span.context.trace_id:032x}"
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing left attached


def test_a_server_error_or_an_exception_is_an_error_span(
    traced_app: tuple[TestClient, InMemorySpanExporter],
) -> None:
    client, spans = traced_app
    assert client.get("/carts/down").status_code == 503
    assert client.get("/carts/boom").status_code == 500
    down, boom = spans.get_finished_spans()
    assert down.status.status_code is StatusCode.ERROR
    assert (boom.status.status_code, boom.status.description) == (StatusCode.ERROR, "RuntimeError")
    assert [event.name for event in boom.events] == ["exception"]
