"""Our gRPC lookup against grpclib's own floor on the same server and client: GetItemDetail
beside grpclib's health check (no code of ours but the RPC layer's framing), interleaved rounds
of one call at a time, one channel, one run. Prints each round's medians and the ratio of the
medians over all rounds.

    python -m loadlab.grpc_floor [--rounds 20] [--calls 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop
from grpclib.client import Channel
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest

from gen.kugel.item.v1 import GetItemDetailRequest, ItemServiceStub
from services.wire.grpc import StrictProtoCodec
from tests.support.harness.processes import start_master_data

REQUEST = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")


async def _round(call: Callable[[], Awaitable[object]], calls: int) -> list[float]:
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)
    return latencies


async def measure(grpc_port: int, rounds: int, calls: int) -> tuple[list[float], list[float]]:
    """(lookup, health) latencies, each round of one followed by a round of the other."""
    channel = Channel("127.0.0.1", grpc_port, codec=StrictProtoCodec(1 << 22))
    items, health = ItemServiceStub(channel), HealthStub(channel)

    async def lookup() -> object:
        return await items.get_item_detail(REQUEST, timeout=5)

    async def check() -> object:
        return await health.Check(HealthCheckRequest(), timeout=5)

    await _round(lookup, 200)  # warm: the connection, the read cache, the encoded forms
    await _round(check, 200)
    ours: list[float] = []
    floor: list[float] = []
    for n in range(rounds):
        first, second = (lookup, check) if n % 2 == 0 else (check, lookup)
        a, b = await _round(first, calls), await _round(second, calls)
        mine, theirs = (a, b) if first is lookup else (b, a)
        ours += mine
        floor += theirs
        print(
            f"round {n + 1:>2}/{rounds}: lookup p50 {statistics.median(mine) * 1e6:7.0f} us,"
            f" health p50 {statistics.median(theirs) * 1e6:7.0f} us,"
            f" {statistics.median(mine) / statistics.median(theirs):.2f}x",
            file=sys.stderr,
        )
    channel.close()
    return ours, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=300, help="calls per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        master_data = start_master_data(Path(tmp))
        try:
            ours, floor = uvloop.run(measure(master_data.ports["gRPC"], args.rounds, args.calls))
        finally:
            master_data.stop()
    p50, floor_p50 = statistics.median(ours), statistics.median(floor)
    print(f"GetItemDetail p50 {p50 * 1e6:.0f} us over {len(ours)} calls")
    print(f"grpclib health check p50 {floor_p50 * 1e6:.0f} us over {len(floor)} calls")
    print(f"ratio {p50 / floor_p50:.2f}x (goal: at most 1.2x)")


if __name__ == "__main__":
    main()
