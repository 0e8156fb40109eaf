"""A server span per HTTP request, named by its route template (`POST /api/v1/carts/{cart_id}`),
in the caller's trace when it sent a W3C `traceparent`: for the HTTP APIs that are not RPCs
(the cart's API, master-data's admin API). RPCs have their own: services.rpc.rpc_tracing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode
from starlette.requests import Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]


def traced(tracer: trace.Tracer | None, endpoint: Endpoint, route: str) -> Endpoint:
    """`endpoint` inside a span per request; `endpoint` itself without a tracer."""
    if tracer is None:
        return endpoint
    # The propagators' headers, picked in one pass over the raw ones (Starlette's Headers scan
    # them all for each name a propagator asks for: a tenth of a traced scan's CPU).
    fields = frozenset(name.encode("latin-1") for name in propagate.get_global_textmap().fields)

    async def traced_endpoint(request: Request) -> Response:
        method = request.method
        carrier = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in request.scope["headers"] if name in fields}  # fmt: skip
        attributes = {"http.request.method": method, "http.route": route,
                      "url.path": request.scope["path"]}  # fmt: skip
        with tracer.start_as_current_span(
            f"{method} {route}",
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes=attributes,
        ) as span:
            response = await endpoint(request)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(StatusCode.ERROR)
            return response

    return traced_endpoint
