"""CPU seconds the cart spends per 1,000 add-item requests (item cache on), beside the same
figure for a bare Starlette route that reads a JSON body and answers a 2 KB JSON document,
driven by the same client in the same run. `python -m loadlab.cpu_per_scan` prints both and
their ratio; `just perf` puts them in its report.

First every item is scanned once (not measured), so the item cache is warm as in a store's
steady state. Each round: every terminal creates a cart (not measured), then scans 20 items one
request each (measured: the process's CPU time before and after, from /proc), then cancels its
cart.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import uvloop

from loadlab.harness.proc_stats import cpu_seconds
from loadlab.harness.processes import (
    ServiceProcess,
    add_terminal,
    start,
    start_cart,
    start_master_data,
)

from .scenario import SCANNABLE

SCANS_PER_CART = 20


@dataclass(frozen=True)
class CpuPerScan:
    """CPU seconds per 1,000 requests of the cart and of the floor, measured in one run."""

    cart: float
    floor: float
    durable_floor: float  # the bare route plus one fsynced SQLite write per scan
    scans: int

    @property
    def ratio(self) -> float:
        return self.cart / self.floor

    @property
    def durable_ratio(self) -> float:
        return self.cart / self.durable_floor


async def _round(
    session: aiohttp.ClientSession, api: str, terminals: int, seed: int
) -> tuple[list[str], list[list[str]]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible baskets

    async def create() -> str:
        async with session.post(f"{api}/carts") as response:
            return str((await response.json())["cartId"])

    carts = await asyncio.gather(*(create() for _ in range(terminals)))
    return list(carts), [rng.sample(SCANNABLE, SCANS_PER_CART) for _ in carts]


async def _scan_all(
    session: aiohttp.ClientSession, api: str, carts: list[str], baskets: list[list[str]]
) -> None:
    async def till(cart: str, basket: list[str]) -> None:
        for code in basket:
            async with session.post(
                f"{api}/carts/{cart}/lineItems", json=[{"itemCode": code}]
            ) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"add item: HTTP {response.status}")

    await asyncio.gather(*(till(c, b) for c, b in zip(carts, baskets, strict=True)))


async def _warm_up(session: aiohttp.ClientSession, api: str, terminals: int) -> None:
    """Scan every item once, so the measured scans find the item cache warm: "item cache on"
    measures a store's steady state, not the first lookup of each item."""
    baskets = [SCANNABLE[n : n + SCANS_PER_CART] for n in range(0, len(SCANNABLE), SCANS_PER_CART)]
    for first in range(0, len(baskets), terminals):
        group = baskets[first : first + terminals]
        carts, _ = await _round(session, api, len(group), 0)
        await _scan_all(session, api, carts, group)


async def measure(
    url: str, pid: int, key: str, *, terminals: int, rounds: int, cancel: bool
) -> float:
    """CPU seconds of `pid` per 1,000 scans at `url`, over `rounds` rounds."""
    api = url + "/api/v1"
    cpu = 0.0
    scans = 0
    connector = aiohttp.TCPConnector(limit=terminals)
    async with aiohttp.ClientSession(
        connector=connector, headers={"X-API-KEY": key}, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:
        await _warm_up(session, api, terminals)
        for n in range(rounds):
            carts, baskets = await _round(session, api, terminals, n + 1)
            before = cpu_seconds(pid)
            await _scan_all(session, api, carts, baskets)
            cpu += cpu_seconds(pid) - before
            scans += len(carts) * SCANS_PER_CART
            if cancel:
                for cart in carts:
                    async with session.post(f"{api}/carts/{cart}/cancel") as response:
                        await response.read()
    return cpu / scans * 1000


def start_bare_route(tmp: Path, *, durable: bool = False) -> ServiceProcess:
    stamp = time.monotonic_ns()
    return start(
        [
            "python",
            "-m",
            "loadlab.bare_route",
            *(["--durable", str(tmp / f"bare-{stamp}.db")] if durable else []),
        ],
        {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        tmp / f"bare-{stamp}.log",
        "bare route ready",
    )


def run(terminals: int = 40, rounds: int = 5) -> CpuPerScan:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        master_data = start_master_data(tmp)
        key = add_terminal(tmp, "T0001", "S001", "R01")
        cart = start_cart(
            tmp, master_data, USE_ITEM_CACHE="true", TERMINAL_RATE_LIMIT="0", MAX_OPEN_CARTS="0"
        )
        bare = start_bare_route(tmp)
        durable = start_bare_route(tmp, durable=True)
        try:
            cart_cpu, floor_cpu, durable_cpu = (
                uvloop.run(
                    measure(
                        service.url(),
                        service.process.pid,
                        key,
                        terminals=terminals,
                        rounds=rounds,
                        cancel=service is cart,
                    )
                )
                for service in (cart, bare, durable)
            )
        finally:
            for service in (durable, bare, cart, master_data):
                service.stop()
    return CpuPerScan(cart_cpu, floor_cpu, durable_cpu, terminals * rounds * SCANS_PER_CART)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--terminals", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = run(args.terminals, args.rounds)
    print(f"cart:  {result.cart:.3f} CPU-s per 1,000 add-item requests ({result.scans} scans)")
    print(f"floor: {result.floor:.3f} CPU-s per 1,000 requests (bare Starlette route)")
    print(f"durable floor: {result.durable_floor:.3f} CPU-s per 1,000 requests (+ fsynced write)")
    print(f"ratio: {result.ratio:.2f}x the floor, {result.durable_ratio:.2f}x the durable floor")
    sys.exit(0)


if __name__ == "__main__":
    main()
