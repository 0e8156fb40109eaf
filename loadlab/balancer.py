"""A TCP balancer for `just cluster`: what a Kubernetes Service or a store's load balancer is in
front of master-data's replicas (the carts' HTTP side uses it; their gRPC side balances by
itself over the replicas' addresses). Each new connection goes to the next replica that accepts one
(a dead replica refuses and is skipped); bytes are piped both ways; when either side closes, so
does the other, and the client's next connection lands on a live replica.

`python -m loadlab.balancer --http 8002,127.0.0.2:8004 [--grpc 50051,50052]` listens on a free
port per kind, prints "<kind> server started on port N" for each, then "balancer ready".
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from typing import Final

import uvloop

from services.common.stop_signal import until_stop_signal

CONNECT_TIMEOUT_SECONDS: Final = 1.0
CHUNK: Final = 65_536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


def _handler(ports: list[tuple[str, int]]) -> object:
    turns = itertools.cycle(range(len(ports)))

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        first = next(turns)
        for n in range(len(ports)):
            host, port = ports[(first + n) % len(ports)]
            try:
                backend_r, backend_w = await asyncio.wait_for(
                    asyncio.open_connection(host, port), CONNECT_TIMEOUT_SECONDS
                )
            except (OSError, TimeoutError):
                continue  # that replica is down: the next one
            await asyncio.gather(_pipe(client_r, backend_w), _pipe(backend_r, client_w))
            return
        client_w.close()  # no replica alive

    return handle


async def main(groups: dict[str, list[tuple[str, int]]]) -> None:
    servers = []
    for kind, ports in groups.items():
        server = await asyncio.start_server(_handler(ports), "127.0.0.1", 0)  # type: ignore[arg-type]
        servers.append(server)
        print(f"{kind} server started on port {server.sockets[0].getsockname()[1]}", flush=True)
    print("balancer ready", flush=True)
    await until_stop_signal()
    for server in servers:
        server.close()


def _ports(text: str) -> list[tuple[str, int]]:
    """`port,port,...` on 127.0.0.1, or `host:port,...`."""
    found = []
    for entry in text.split(","):
        host, _, port = entry.rpartition(":")
        found.append((host or "127.0.0.1", int(port)))
    return found


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grpc", type=_ports, default=[])
    parser.add_argument("--http", type=_ports, required=True)
    arguments = parser.parse_args()
    groups = {"gRPC": arguments.grpc, "HTTP": arguments.http}
    uvloop.run(main({kind: ports for kind, ports in groups.items() if ports}))
