"""CORS for the RPC port: a browser page of a listed origin may call Connect and gRPC-Web.

Pure ASGI, outside every route: a preflight (`OPTIONS` with `Access-Control-Request-Method`)
from a listed origin is answered here, before any auth; every other request of a listed origin
gets its `Access-Control-Allow-Origin` on the way out. A request of an origin not listed, or to
a path CORS does not cover (`/metrics`, the probes, the admin API unless asked), passes through
untouched and gets no CORS header at all, so its browser refuses it. The headers are those each
protocol needs (as connectrpc/cors-go lists them), plus `Authorization`;
`Access-Control-Allow-Credentials` only when asked (a bearer token needs no cookies).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_METHODS: Final = "GET, POST"
ALLOWED_HEADERS: Final = ", ".join(
    (
        "Content-Type",
        "Content-Encoding",
        "Accept-Encoding",
        "Authorization",
        "Connect-Protocol-Version",
        "Connect-Timeout-Ms",
        "Connect-Content-Encoding",
        "Connect-Accept-Encoding",
        "Grpc-Timeout",
        "Grpc-Encoding",
        "Grpc-Accept-Encoding",
        "X-Grpc-Web",
        "X-User-Agent",
    )
)
EXPOSED_HEADERS: Final = ", ".join(
    (
        "Grpc-Status",
        "Grpc-Message",
        "Grpc-Status-Details-Bin",
        "Grpc-Encoding",
        "Grpc-Accept-Encoding",
        "Connect-Content-Encoding",
        "Connect-Accept-Encoding",
        "Content-Encoding",
    )
)
MAX_AGE_SECONDS: Final = 7200  # how long a browser may keep a preflight's answer


def parse_origins(value: str) -> frozenset[str]:
    """`CORS_ALLOWED_ORIGINS`: comma-separated exact origins (`scheme://host[:port]`)."""
    origins = frozenset(o.strip().rstrip("/") for o in value.split(",") if o.strip())
    for origin in origins:
        scheme, sep, host = origin.partition("://")
        if origin == "*" or "*" in origin:
            raise ValueError("list exact origins: no wildcard (calls carry a bearer token)")
        if scheme not in ("http", "https") or not sep or not host or "/" in host:
            raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
    return origins


def rpc_path(path: str) -> bool:
    """Whether a path is an RPC's, `/package.Service/Method`: what a browser page calls."""
    service, sep, method = path[1:].partition("/")
    return bool(sep) and "." in service and bool(method) and "/" not in method


class Cors:
    """The CORS middleware over `app` for `origins`, on the paths `covers` says."""

    def __init__(
        self,
        app: ASGIApp,
        origins: Iterable[str],
        covers: Callable[[str], bool] = rpc_path,
        credentials: bool = False,
    ) -> None:
        self._app = app
        self._origins = frozenset(origins)
        self._covers = covers
        self._credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if origin not in self._origins or not self._covers(scope["path"]):
            await self._app(scope, receive, send)  # no CORS header for it
            return
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(origin, send)
            return

        async def with_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *self._allow(origin),
                    (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
                ]
            await send(message)

        await self._app(scope, receive, with_origin)

    def _allow(self, origin: str) -> list[tuple[bytes, bytes]]:
        allowed = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
        if self._credentials:
            allowed.append((b"access-control-allow-credentials", b"true"))
        return allowed

    async def _preflight(self, origin: str, send: Send) -> None:
        headers = [
            *self._allow(origin),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", str(MAX_AGE_SECONDS).encode()),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
