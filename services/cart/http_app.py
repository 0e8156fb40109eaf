"""cart's HTTP app: the cart API, its OpenAPI description, metrics and probes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.cart.fast_lane import FastLaneApp
from services.common.path_segments import WholeSegments
from services.common.probes import probe_routes

from .errors import CartError, ErrorCode
from .http_api import CartApi, error_response
from .openapi import openapi_document
from .repository import CartRepository


def build_http_app(
    api: CartApi,
    repository: CartRepository,
    registry: CollectorRegistry,
    master_data: Callable[[], dict[str, object]] | None = None,
    more_routes: list[Route] | None = None,
) -> Starlette:
    document = openapi_document()

    async def openapi(_: Request) -> JSONResponse:
        return JSONResponse(document)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def http_error(_: Request, exc: Any) -> Response:
        status = getattr(exc, "status_code", 404)
        code = ErrorCode.METHOD_NOT_ALLOWED if status == 405 else ErrorCode.NOT_FOUND
        response = error_response(CartError(code, str(getattr(exc, "detail", "not found")).lower()))
        response.status_code = status
        response.headers.update(getattr(exc, "headers", None) or {})  # a 405's Allow
        return response

    api_routes = api.routes()
    routes = [
        *api_routes,
        *(more_routes or []),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *probe_routes(
            repository.ping, (lambda: {"masterData": master_data()}) if master_data else None
        ),
    ]
    return FastLaneApp(
        routes=routes,
        fast=api_routes,
        exception_handlers={HTTPException: http_error},
        middleware=[Middleware(WholeSegments, refusal=_encoded_slash)],
    )


def _encoded_slash() -> Response:
    error = CartError(ErrorCode.VALIDATION_ERROR, "a path segment may not hold an encoded /")
    return error_response(error)
