"""master-data's HTTP side: Connect rpcs, the admin API, and liveness/readiness probes."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .admin_api import AdminApi
from .connect_endpoint import ConnectEndpoint
from .repository import ItemRepository

READY_TIMEOUT_SECONDS = 1.0
ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def build_http_app(
    connect: ConnectEndpoint, admin: AdminApi, repository: ItemRepository
) -> Starlette:
    """The Starlette app; the Connect route matches any `/package.Service/Method` path."""

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await repository.ping()
        except Exception:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        return JSONResponse({"status": "ready"})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *admin.routes(),
        # Every method reaches the endpoint, so a wrong one gets a Connect error, not plain text.
        Route("/{service}/{method}", connect.handle, methods=list(ANY_METHOD)),
    ]
    return Starlette(routes=routes)
