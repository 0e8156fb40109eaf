"""The client matrix: every client the rest of the world uses against a real master-data, at 1,
16, 64 and 256 calls in flight, on one connection and on several, unary GetItemDetail and open
WatchItemChanges streams (prices changing meanwhile); a table of calls, failures by code before
the run's end, p50/p99 and the HTTP/2 flood guards' closes. Every cell must show 0 failures and
0 closes: a guard that turns away a busy client is a bug (docs/reliability.md).

    python -m loadlab.client_matrix [--short] [--seconds 5] [--clients grpcio-aio,ghz]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from connectrpc.protocol import ProtocolType

from tests.support.harness.processes import ServiceProcess, database, start_master_data

from .client_drivers import (
    BIN,
    ROOT,
    Driver,
    Tally,
    Target,
    cart_connect,
    cart_grpc,
    connectrpc,
    ghz,
    grpcio_aio,
    grpcio_sync,
    grpcurl,
    node,
)

TOKEN = "client-matrix-token"  # noqa: S105 - the lab's own throwaway master-data
ADMIN = "client-matrix-admin"
LEVELS = (1, 16, 64, 256)
SEVERAL = 4  # connections (or client pools) in a "several" cell


@dataclass(frozen=True)
class Client:
    name: str
    drive: Driver
    kinds: tuple[str, ...] = ("unary", "watch")
    max_in_flight: int = 256  # a client that runs a process per call stops lower


CLIENTS = [
    Client("grpcio-aio", grpcio_aio),
    Client("grpcio-sync", grpcio_sync),
    Client("ghz", ghz),  # grpc-go
    Client("grpcurl", grpcurl, max_in_flight=16),  # a Go process per call
    Client("connectrpc-connect", connectrpc(ProtocolType.CONNECT)),
    Client("connectrpc-grpc-web", connectrpc(ProtocolType.GRPC_WEB)),
    Client("connectrpc-grpc", connectrpc(ProtocolType.GRPC)),
    Client("connect-node-h1", node("connect", "1.1", lambda t: t.http1_port)),
    Client("connect-node-h2", node("connect", "2", lambda t: t.http2_port)),
    Client("connect-node-grpc", node("connect-grpc", "2", lambda t: t.grpc_port)),
    Client("grpc-web-text", node("grpc-web-text", "1.1", lambda t: t.http1_port)),
    # grpc-web's binary mode has no server streaming (its own documentation): unary only
    Client("grpc-web-binary", node("grpc-web", "1.1", lambda t: t.http1_port), ("unary",)),
    Client("cart-grpc", cart_grpc),
    Client("cart-connect", cart_connect),
]


@dataclass(frozen=True)
class Cell:
    client: Client
    kind: str
    in_flight: int
    connections: int
    seconds: float

    @property
    def label(self) -> str:
        conns = "1 conn" if self.connections == 1 else f"{self.connections} conns"
        return f"{self.client.name} {self.kind} {self.in_flight} in flight, {conns}"


@dataclass(frozen=True)
class Result:
    cell: Cell
    tally: Tally
    closes: int
    guard_lines: tuple[str, ...] = ()  # the services' log lines of the closes

    @property
    def passed(self) -> bool:
        return not self.tally.failures and self.closes == 0 and self.tally.calls > 0

    def row(self) -> str:
        t = self.tally
        percentiles = t.p50_p99()
        p50, p99 = (f"{v * 1e3:.1f}" for v in percentiles) if percentiles else ("-", "-")
        failures = ", ".join(f"{k} {v}" for k, v in sorted(t.failures.items())) or "0"
        c = self.cell
        messages = t.messages if c.kind == "watch" and t.counts_messages else "-"
        return (f"| {c.client.name} | {c.kind} | {c.in_flight} | {c.connections} | {t.calls} "
                f"| {messages} | {failures} | {p50} | {p99} | {self.closes} |")  # fmt: skip


def full_cells(clients: list[Client], seconds: float) -> list[Cell]:
    cells = []
    for client in clients:
        for kind in client.kinds:
            for level in LEVELS:
                if level > client.max_in_flight:
                    continue
                for conns in (1, SEVERAL):
                    if conns > level:
                        continue
                    cells.append(Cell(client, kind, level, conns, seconds))
    return cells


def short_cells(clients: list[Client]) -> list[Cell]:
    """CI's form: the acceptance cells whole (grpcio at 16 in flight for 5 s, ghz at 1 and 16
    on one connection for 5 s), every other client at 16 in flight briefly, and a watch each
    for the clients that stream."""
    by_name = {c.name: c for c in clients}
    cells = [
        Cell(by_name["grpcio-aio"], "unary", 16, 1, 5.0),
        Cell(by_name["ghz"], "unary", 1, 1, 5.0),
        Cell(by_name["ghz"], "unary", 16, 1, 5.0),
        Cell(by_name["ghz"], "unary", 256, 1, 1.5),  # more streams than h2's default allows
    ]
    for client in clients:
        if client.name not in ("grpcio-aio", "ghz"):
            cells.append(Cell(client, "unary", 16, 1, 1.5))
    for name in ("grpcio-aio", "ghz", "connect-node-h2", "grpc-web-text", "cart-grpc"):
        cells.append(Cell(by_name[name], "watch", 16, 1, 2.0))
    return cells


def guard_closes(services: list[ServiceProcess]) -> int:
    total = 0.0
    for service in services:
        for line in service.metrics().splitlines():
            if line.startswith("http2_flood_guard_closes_total{"):
                total += float(line.rsplit(" ", 1)[1])
    return int(total)


async def _change_prices(service: ServiceProcess, until: float) -> None:
    """A price change every 100 ms, so the watches carry messages."""
    url = service.url() + "/admin/v1/tenants/T0001/stores/S001/prices/ITEM0007"
    price = 500
    while time.monotonic() < until:
        price = 500 + (price - 499) % 100
        body = json.dumps({"unitPrice": price}).encode()
        headers = {"authorization": f"Bearer {ADMIN}", "content-type": "application/json"}
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)  # noqa: S310 - our own loopback URL
        await asyncio.to_thread(urllib.request.urlopen, request, timeout=5)
        await asyncio.sleep(0.1)


def _guard_lines(services: list[ServiceProcess]) -> list[str]:
    return [line for s in services for line in s.log.splitlines() if "flood guard" in line]


async def run_cell(cell: Cell, target: Target, services: list[ServiceProcess]) -> Result:
    before = guard_closes(services)
    lines_before = len(_guard_lines(services))
    writer = None
    if cell.kind == "watch":
        writer = asyncio.create_task(_change_prices(services[0], time.monotonic() + cell.seconds))
    tally = await cell.client.drive(target, cell.kind, cell.in_flight, cell.connections,
                                    cell.seconds)  # fmt: skip
    if writer is not None:
        await writer
    closes = guard_closes(services) - before
    return Result(cell, tally, closes, tuple(_guard_lines(services)[lines_before:]))


@contextmanager
def master_data_pair(tmp: Path) -> Iterator[tuple[Target, list[ServiceProcess]]]:
    """master-data on uvicorn (HTTP/1.1) and on Hypercorn (HTTP/2), one database; watches up
    to 256 a connection (the 256-stream cells), auth on as in production."""
    env = {"MASTER_DATA_TOKEN": TOKEN, "ADMIN_TOKEN": ADMIN, "MAX_WATCHES_PER_CONNECTION": "256"}
    plain = start_master_data(tmp, file_limit=None, **env)
    h2_env = {**env, "MASTER_DATA_DB": database(tmp, "master")[0], "HTTP_SERVER": "hypercorn"}
    try:
        h2 = start_master_data(tmp, file_limit=None, **h2_env, USE_GRPC="false")
    except BaseException:
        plain.stop()
        raise
    descriptors = tmp / "set.binpb"
    build = [str(BIN / "buf"), "build", "proto", "-o", str(descriptors)]
    subprocess.run(build, cwd=ROOT, check=True, timeout=120)
    target = Target(plain.ports["gRPC"], plain.ports["HTTP"], h2.ports["HTTP"], TOKEN, descriptors)
    try:
        yield target, [plain, h2]
    finally:
        h2.stop()
        plain.stop()


async def run(cells: list[Cell], target: Target, services: list[ServiceProcess]) -> list[Result]:
    results = []
    for n, cell in enumerate(cells, 1):
        result = await run_cell(cell, target, services)
        mark = "ok" if result.passed else "FAILED"
        print(f"[{n}/{len(cells)}] {cell.label}: {result.tally.calls} calls, "
              f"{sum(result.tally.failures.values())} failed, {result.closes} closes: {mark}",
              file=sys.stderr, flush=True)  # fmt: skip
        results.append(result)
    return results


HEADER = """| client | kind | in flight | connections | calls (streams) | messages | failed | p50 ms | p99 ms | guard closes |
|---|---|---|---|---|---|---|---|---|---|"""  # noqa: E501 - a Markdown table's head


def report(results: list[Result]) -> str:
    lines = [HEADER, *(r.row() for r in results)]
    failed = [r for r in results if not r.passed]
    lines.append("")
    lines.append(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    for result in failed:
        lines.append(f"FAILED {result.cell.label}: {dict(result.tally.first_error)}")
        lines.extend(f"    {line}" for line in result.guard_lines)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="CI's form (about a minute)")
    parser.add_argument("--seconds", type=float, default=5.0, help="per cell (full form)")
    parser.add_argument("--clients", help="comma-separated names (default: all)")
    args = parser.parse_args()
    clients = CLIENTS
    if args.clients:
        wanted = set(args.clients.split(","))
        clients = [c for c in CLIENTS if c.name in wanted]
    cells = short_cells(CLIENTS) if args.short else full_cells(clients, args.seconds)
    with tempfile.TemporaryDirectory() as tmp, master_data_pair(Path(tmp)) as (target, services):
        results = asyncio.run(run(cells, target, services))
    print(report(results))
    sys.exit(0 if all(r.passed for r in results) else 1)


if __name__ == "__main__":
    main()
