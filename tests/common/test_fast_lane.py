"""The fast lane answers its routes as the full Starlette stack would, and leaves every other
request to that stack."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.fast_lane import FastLaneApp
from services.common.path_segments import WholeSegments


class Tagged:
    """Middleware that marks each response it saw: who took the full stack."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-stack", b"full")]  # type: ignore[misc]
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


def client() -> TestClient:
    fast = [Route("/carts/{cart_id}/lines/{line_no:int}", line, methods=["POST", "GET"])]
    app = FastLaneApp(
        routes=[*fast, Route("/other", other)],
        fast=fast,
        middleware=[
            Middleware(Tagged),
            Middleware(WholeSegments, refusal=lambda: PlainTextResponse("refused", 400)),
        ],
    )
    return TestClient(app)


def test_a_fast_route_gets_its_path_params_headers_and_body_past_the_middleware() -> None:
    response = client().post(
        "/carts/c1/lines/7", content=b"hello",
        headers=[("X-API-KEY", "first"), ("x-api-key", "second")],
    )  # fmt: skip
    assert response.json() == {
        "cart": "c1", "line": 7, "key": "first", "missing": "-", "body": "hello"
    }  # fmt: skip
    assert "x-stack" not in response.headers


def test_every_other_request_takes_the_full_stack() -> None:
    http = client()
    head = http.head("/carts/c1/lines/7")
    assert (head.status_code, head.headers["x-stack"]) == (200, "full")
    wrong_method = http.delete("/carts/c1/lines/7")
    assert (wrong_method.status_code, wrong_method.headers["x-stack"]) == (405, "full")
    not_an_int = http.post("/carts/c1/lines/x")
    assert (not_an_int.status_code, not_an_int.headers["x-stack"]) == (404, "full")
    escaped = http.post("/carts/c1%2Fx/lines/7")
    assert (escaped.status_code, escaped.text) == (400, "refused")
    plain = http.get("/other")
    assert (plain.text, plain.headers["x-stack"]) == ("other", "full")
