"""Path segments are matched after percent-decoding each one: an encoded `/` (`%2F`) inside a
segment would otherwise cross into the next one once the whole path is decoded, and
`tenants/T0001%2Fstores%2FS002` would route to store S002."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


class WholeSegments:
    """ASGI middleware: a request whose raw path encodes a `/` gets `refusal()`, unrouted."""

    def __init__(self, app: ASGIApp, refusal: Callable[[], Response]) -> None:
        self._app = app
        self._refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw: bytes = scope.get("raw_path") or b""
            if b"%2f" in raw.lower():
                await self._refusal()(scope, receive, send)
                return
        await self._app(scope, receive, send)
