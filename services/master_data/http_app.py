"""master-data's HTTP side: Connect rpcs, the admin API, and liveness/readiness probes."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.path_segments import WholeSegments
from services.common.probes import probe_routes
from services.common.storage_errors import StorageUnavailable
from services.rpc.connect_server import ConnectEndpoint
from services.rpc.cors import Cors, rpc_path

from .admin_api import AdminApi, error
from .errors import ErrorCode
from .repository import ItemRepository

log = logging.getLogger(__name__)

ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def build_http_app(
    connect: ConnectEndpoint,
    admin: AdminApi,
    repository: ItemRepository,
    registry: CollectorRegistry | None = None,  # what /metrics shows
    cors_origins: frozenset[str] = frozenset(),  # browser pages that may call (CORS)
    *,
    cors_admin_api: bool = False,  # ... the admin API too, not only the RPCs
    cors_credentials: bool = False,  # Access-Control-Allow-Credentials: true
) -> Starlette:
    """The Starlette app; the Connect route matches any `/package.Service/Method` path."""

    exported = registry or CollectorRegistry()

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(exported), media_type=CONTENT_TYPE_LATEST)

    routes = [
        # First: the hot path is matched before anything else. Every method reaches it, so a
        # wrong one gets a Connect error, not plain text. (No other route has two segments.)
        Route("/{service}/{method}", connect.handle, methods=list(ANY_METHOD)),
        *probe_routes(repository.ping),
        *admin.routes(),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    cors = (
        [Middleware(Cors, origins=cors_origins, credentials=cors_credentials,
                    covers=_admin_too if cors_admin_api else rpc_path)]
        if cors_origins
        else []
    )  # fmt: skip
    return Starlette(
        routes=routes,
        middleware=[*cors, Middleware(WholeSegments, refusal=_encoded_slash)],
        exception_handlers={StorageUnavailable: _store_unavailable},
    )


def _admin_too(path: str) -> bool:
    return rpc_path(path) or path.startswith("/admin/")


async def _store_unavailable(_: Request, outage: Exception) -> Response:
    """The admin API when the item store cannot be reached: 503, nothing written."""
    log.warning("item store unavailable in the admin API: %s", outage)
    response = error(ErrorCode.UNAVAILABLE, "the item store is unavailable: try again later")
    response.headers["Retry-After"] = "1"
    return response


def _encoded_slash() -> Response:
    return error(ErrorCode.INVALID_ARGUMENT, "a path segment may not hold an encoded /")
