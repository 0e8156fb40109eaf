"""The fast lane answers its routes as the full Starlette stack would, leaves every other
request to that stack, and never skips the middleware of ours."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from services.cart.fast_lane import FastLaneApp
from services.common.path_segments import WholeSegments


class Tagged:
    """Middleware that marks each response it saw."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-tagged", b"yes")]  # type: ignore[misc]
            await send(message)

        await self._app(scope, receive, tagged)


async def line(request: Request) -> Response:
    return JSONResponse({
        "cart": request.path_params["cart_id"], "line": request.path_params["line_no"],
        "key": request.headers.get("x-api-key"), "missing": request.headers.get("x-none", "-"),
        "body": (await request.body()).decode(),
    })  # fmt: skip


async def other(_: Request) -> Response:
    return PlainTextResponse("other")


def client(*, lane: bool = True) -> TestClient:
    fast = [Route("/carts/{cart_id}/lines/{line_no:int}", line, methods=["POST", "GET"])]
    app = FastLaneApp(
        routes=[*fast, Route("/other", other)],
        fast=fast if lane else [],
        middleware=[
            Middleware(Tagged),
            Middleware(WholeSegments, refusal=lambda: PlainTextResponse("refused", 400)),
        ],
    )
    return TestClient(app)


def test_a_fast_route_gets_its_path_params_headers_and_body_through_the_middleware() -> None:
    response = client().post(
        "/carts/c1/lines/7", content=b"hello",
        headers=[("X-API-KEY", "first"), ("x-api-key", "second")],
    )  # fmt: skip
    assert response.json() == {
        "cart": "c1", "line": 7, "key": "first", "missing": "-", "body": "hello"
    }  # fmt: skip
    assert response.headers["x-tagged"] == "yes"  # a middleware added later runs here too


REQUESTS = [
    ("POST", "/carts/c1/lines/7", [("x-api-key", "k")]),
    ("POST", "/carts/c1/lines/7", [("x-api-key", "first"), ("X-API-KEY", "second")]),
    ("GET", "/carts/c1/lines/7", []),
    ("HEAD", "/carts/c1/lines/7", []),
    ("DELETE", "/carts/c1/lines/7", []),
    ("POST", "/carts/c1/lines/x", []),
    ("POST", "/carts/c%41/lines/7", []),
    ("POST", "/carts/c1%2Fx/lines/7", []),
    ("POST", "/carts/c1%2fx/lines/7", []),
    ("GET", "/other", []),
    ("POST", "/other", []),
    ("GET", "/nowhere", []),
    ("GET", "/carts//lines/7", []),
]


def test_every_request_is_answered_alike_by_both_lanes() -> None:
    fast, full = client(), client(lane=False)
    for method, path, headers in REQUESTS:
        a = fast.request(method, path, headers=headers, content=b"x")
        b = full.request(method, path, headers=headers, content=b"x")
        assert (a.status_code, a.content) == (b.status_code, b.content), (method, path)
        assert sorted(a.headers.items()) == sorted(b.headers.items()), (method, path)
        assert a.headers["x-tagged"] == "yes"
