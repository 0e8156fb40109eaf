"""A server span per HTTP request, named by its route template (`POST /api/v1/carts/{cart_id}`),
in the caller's trace when it sent a W3C `traceparent`: for the HTTP APIs that are not RPCs
(the cart's API, master-data's admin API). RPCs have their own: services.rpc.rpc_tracing.

The span carries what the HTTP semantic conventions require of a server span (method, path,
scheme; route and status code); the caller's baggage stays in the request's context, so the
calls it makes carry it on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, StatusCode
from starlette.requests import Request
from starlette.responses import Response

from .trace_headers import bounded

Endpoint = Callable[[Request], Awaitable[Response]]


def traced(tracer: trace.Tracer | None, endpoint: Endpoint, route: str) -> Endpoint:
    """`endpoint` inside a span per request; `endpoint` itself without a tracer."""
    if tracer is None:
        return endpoint
    # The propagators' headers, picked in one pass over the raw ones (Starlette's Headers scan
    # them all for each name a propagator asks for: a tenth of a traced scan's CPU).
    fields = frozenset(name.encode("latin-1") for name in propagate.get_global_textmap().fields)

    async def traced_endpoint(request: Request) -> Response:
        scope = request.scope
        carrier = bounded((name.decode("latin-1"), value.decode("latin-1"))
                          for name, value in scope["headers"] if name in fields)  # fmt: skip
        parent = propagate.extract(carrier) if carrier else None
        method = scope["method"]
        attributes = {"http.request.method": method, "http.route": route,
                      "url.path": scope["path"], "url.scheme": scope["scheme"]}  # fmt: skip
        span = tracer.start_span(
            f"{method} {route}", context=parent, kind=SpanKind.SERVER, attributes=attributes
        )
        # Attached with the caller's context: start_as_current_span would attach the span
        # alone, and the caller's baggage would not go on with the calls this request makes.
        token = context.attach(trace.set_span_in_context(span, parent))
        try:
            response = await endpoint(request)
        except BaseException as error:
            span.record_exception(error)
            span.set_status(StatusCode.ERROR, type(error).__name__)
            span.end()
            raise
        finally:
            context.detach(token)
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 500:
            span.set_status(StatusCode.ERROR)
        span.end()
        return response

    return traced_endpoint
