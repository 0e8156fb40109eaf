"""The floor of the CPU-per-scan benchmark: a bare Starlette route on the same server the cart
runs (uvicorn, httptools, uvloop, the same limits) that reads a small JSON body and answers a
2 KB JSON document. `python -m loadlab.bare_route` prints its port and serves until SIGTERM."""

from __future__ import annotations

import asyncio
import json

import uvloop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.stop_signal import until_stop_signal
from services.common.uvicorn_server import http_server, listening_socket, wait_started
from services.wire.http1 import HttpLimits

# About the size of a cart with a few lines, as the cart API answers it.
DOCUMENT = json.dumps(
    {
        "lines": [
            {
                "itemCode": f"ITEM{n:04d}",
                "itemName": "x" * 40,
                "unitPrice": 100 * n,
                "quantity": 1,
                "amount": 100 * n,
            }
            for n in range(1, 15)
        ]
    }
).encode()


async def scan(request: Request) -> Response:
    body = json.loads(await request.body())
    if not isinstance(body, list):
        return Response(status_code=400)
    return Response(DOCUMENT, media_type="application/json")


async def create(_: Request) -> Response:
    return Response(b'{"cartId": "c1"}', status_code=201, media_type="application/json")


async def main() -> None:
    app = Starlette(
        routes=[
            Route("/api/v1/carts", create, methods=["POST"]),
            Route("/api/v1/carts/{cart_id}/lineItems", scan, methods=["POST"]),
        ]
    )
    sock = listening_socket("127.0.0.1", 0)
    server = http_server(
        app, grace_seconds=1, log_level="warning", limits=HttpLimits(), idle_timeout_seconds=5
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await wait_started(server, task)
    print(f"HTTP server started on port {sock.getsockname()[1]}", flush=True)
    print("bare route ready", flush=True)
    await until_stop_signal(task)
    server.should_exit = True
    await task


if __name__ == "__main__":
    uvloop.run(main())
