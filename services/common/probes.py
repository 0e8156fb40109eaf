"""Liveness and readiness routes: /healthz (the process answers), /readyz (its database does,
and what else the service reports)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

READY_TIMEOUT_SECONDS = 1.0


def probe_routes(
    ping_database: Callable[[], Awaitable[None]],
    details: Callable[[], dict[str, object]] | None = None,
) -> list[Route]:
    """`details`: what else /readyz reports (the cart: how master-data is reached), never a
    reason to be unready: the cart sells through a master-data outage."""

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await ping_database()
        except Exception:  # any failure means "not ready", and the probe says so
            body: dict[str, object] = {"status": "unavailable", "database": "unreachable"}
            status = 503
        else:
            body, status = {"status": "ready", "database": "ok"}, 200
        if details is not None:
            body.update(details())
        return JSONResponse(body, status)

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
