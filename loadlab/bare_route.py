"""The floor of the CPU-per-scan benchmark: a bare Starlette route on the same server the cart
runs (uvicorn, httptools, uvloop, the same limits) that reads a small JSON body and answers a
2 KB JSON document. `python -m loadlab.bare_route` prints its port and serves until SIGTERM.

`--durable FILE`: the durable floor. Each scan also writes that document into a SQLite file the
way the cart stores a change (WAL, synchronous=FULL, the same writer thread and group commit),
acknowledged once on disk: what any scan that is never lost costs at least on this stack.

With the OpenTelemetry variables set (as for the services), each scan is one server span
(services.common.http_tracing, as the cart's requests): what tracing costs at least; with
`--bare-span`, a span with nothing but its name (the SDK's least)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from pathlib import Path

import uvloop
from opentelemetry import trace
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.common.http_tracing import traced
from services.common.migrations import Migration
from services.common.sockets import listening_socket
from services.common.sqlite_threads import SqliteThreads
from services.common.stop_signal import until_stop_signal
from services.common.telemetry import configure_telemetry
from services.http_servers.http_limits import HttpLimits
from services.http_servers.uvicorn_server import http_server, wait_started

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


SCHEMA = (Migration(1, "documents", "CREATE TABLE documents (id TEXT PRIMARY KEY, body TEXT)"),)


def scan_route(
    database: SqliteThreads | None, tracer: trace.Tracer | None = None, *, bare: bool = False
) -> Route:
    async def scan(request: Request) -> Response:
        body = json.loads(await request.body())
        if not isinstance(body, list):
            return Response(status_code=400)
        if database is not None:
            key = request.path_params["cart_id"]
            await database.write(
                lambda c: c.execute(
                    "INSERT OR REPLACE INTO documents VALUES (?, ?)", (key, DOCUMENT.decode())
                )
            )
        return Response(DOCUMENT, media_type="application/json")

    path = "/api/v1/carts/{cart_id}/lineItems"
    if tracer is not None and bare:

        async def in_bare_span(request: Request) -> Response:
            span = tracer.start_span(f"POST {path}")
            try:
                return await scan(request)
            finally:
                span.end()

        return Route(path, in_bare_span, methods=["POST"])
    return Route(path, traced(tracer, scan, path), methods=["POST"])


CART_IDS = itertools.count(1)


async def create(_: Request) -> Response:
    body = json.dumps({"cartId": f"c{next(CART_IDS)}"})
    return Response(body, status_code=201, media_type="application/json")


async def main(durable: Path | None, *, bare_span: bool) -> None:
    database = None
    if durable is not None:
        database = await SqliteThreads.open(durable, SCHEMA, synchronous="FULL", create=True)
    telemetry = configure_telemetry("bare-route")
    tracer = telemetry.tracer if telemetry is not None else None
    routes = [
        Route("/api/v1/carts", create, methods=["POST"]),
        scan_route(database, tracer, bare=bare_span),
    ]
    app = Starlette(routes=routes)
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
    if database is not None:
        await database.close()
    if telemetry is not None:
        telemetry.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--durable", type=Path, metavar="FILE")
    parser.add_argument("--bare-span", action="store_true", help="traced: spans with a name only")
    args = parser.parse_args()
    uvloop.run(main(args.durable, bare_span=args.bare_span))
