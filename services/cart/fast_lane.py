"""A Starlette app whose hot routes skip its router and its error and exception middlewares,
never the middleware of ours.

Starlette sends each request through its error and exception middlewares, then its router,
which tries routes in order and wraps the endpoint's `send` twice more: together about a third
of what a bare route costs in CPU (the load lab's bare route against plain ASGI;
docs/measurements.md). A request to a fast-lane route, with that route's method and a path
without percent-escapes (an escaped path is decoded by the router), goes straight to the
endpoint; every other request (another method, HEAD, an escaped path, an unknown path) takes
the router, which holds the same routes, so 404s and 405s answer as before. The middleware
given (pure ASGI, answering its own errors: e.g. `WholeSegments`) wraps both lanes, so a check
added there runs for every request, fast or not.

A fast-lane endpoint must answer every error itself (the cart's API endpoints are guarded):
nothing between it and the server would turn an exception into a 500.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import Convertor
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

_Lane = tuple[re.Pattern[str], dict[str, Convertor[Any]], Any]


class FastLaneApp(Starlette):
    """`Starlette(routes=..., middleware=..., **options)` where `fast` (some of `routes`) take
    the fast lane, and `middleware` runs around both lanes."""

    def __init__(
        self,
        *,
        routes: Sequence[BaseRoute],
        fast: Sequence[Route],
        middleware: Sequence[Middleware] = (),
        **options: Any,
    ) -> None:
        super().__init__(routes=routes, **options)  # its own stack: error handling and router
        self._given = (routes, middleware, options)
        self._lanes: dict[str, list[_Lane]] = {}
        for route in fast:
            for method in route.methods or ():
                if method != "HEAD":  # Starlette adds HEAD to GET routes: it takes the router
                    lane = (route.path_regex, route.param_convertors, route.endpoint)
                    self._lanes.setdefault(method, []).append(lane)
        entry: ASGIApp = self._either_lane
        for cls, args, kwargs in reversed(middleware):
            entry = cls(entry, *args, **kwargs)
        self._entry = entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._entry(scope, receive, send)

    def without_lane(self) -> FastLaneApp:
        """The same app with every request through the router: what the fast lane must answer
        alike (tests/cart/test_http_app.py)."""
        routes, middleware, options = self._given
        return FastLaneApp(routes=routes, fast=[], middleware=middleware, **options)

    async def _either_lane(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            lanes = self._lanes.get(scope["method"])
            if lanes is not None and b"%" not in scope.get("raw_path", b"%"):
                path = scope["path"]
                for regex, convertors, endpoint in lanes:
                    match = regex.match(path)
                    if match is not None:
                        scope["app"] = self
                        scope["path_params"] = {
                            name: convertors[name].convert(value)
                            for name, value in match.groupdict().items()
                        }
                        response = await endpoint(_LaneRequest(scope, receive))
                        await response(scope, receive, send)
                        return
        await super().__call__(scope, receive, send)


class _IndexedHeaders(Headers):
    """Headers whose `get` is one dict lookup: Starlette's scans the list and decodes each name
    at every call, and raises and catches a KeyError for a header the request lacks."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope=scope)
        self._first = dict(reversed(self.raw))  # a name sent twice: the first, as Headers

    def get(self, key: str, default: Any = None) -> Any:
        value = self._first.get(key.lower().encode("latin-1"))
        return default if value is None else value.decode("latin-1")


class _LaneRequest(Request):
    @property
    def headers(self) -> Headers:
        if not hasattr(self, "_indexed"):  # our own attribute, not Starlette's `_headers`
            self._indexed = _IndexedHeaders(self.scope)
        return self._indexed
