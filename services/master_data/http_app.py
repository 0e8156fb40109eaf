"""master-data's HTTP side: Connect rpcs, the admin API, and liveness/readiness probes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route

from services.common.path_segments import WholeSegments
from services.common.probes import probe_routes

from .admin_api import AdminApi, error
from .connect_endpoint import ConnectEndpoint
from .errors import ErrorCode
from .repository import ItemRepository

ANY_METHOD = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def build_http_app(
    connect: ConnectEndpoint, admin: AdminApi, repository: ItemRepository
) -> Starlette:
    """The Starlette app; the Connect route matches any `/package.Service/Method` path."""

    routes = [
        # First: the hot path is matched before anything else. Every method reaches it, so a
        # wrong one gets a Connect error, not plain text. (No other route has two segments.)
        Route("/{service}/{method}", connect.handle, methods=list(ANY_METHOD)),
        *probe_routes(repository.ping),
        *admin.routes(),
    ]
    return Starlette(routes=routes, middleware=[Middleware(WholeSegments, refusal=_encoded_slash)])


def _encoded_slash() -> Response:
    return error(ErrorCode.INVALID_ARGUMENT, "a path segment may not hold an encoded /")
