"""What terminal keys can make the cart hold: each of T terminals tries to open C carts and
fills every cart it got with L lines (100 a request), while a normal terminal scans one item
every 20 ms. Prints the carts opened and refused (`MAX_OPEN_CARTS`), the cart's RSS idle and
at its peak (sampled every 50 ms), and the normal terminal's scan p50/p99 meanwhile.

    python -m loadlab.cart_memory [--terminals 1] [--carts 300] [--lines 500]

The cart runs with its defaults except the rate limit (off, so the attack is as fast as it
can be); `--setting NAME=VALUE` passes more.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.support.harness.proc_stats import rss_kib
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

from .progress import Progress
from .stats import percentile

TENANT, STORE = "T0001", "S001"
ITEMS = [f"ITEM{n:04d}" for n in range(1, 21)]  # the demo data's items
PER_REQUEST = 100


@dataclass(frozen=True)
class Attack:
    carts: int  # each terminal tries to open
    lines: int  # in each cart it got


@dataclass
class Measured:
    opened: int
    refused: int
    rss_idle: int  # KiB
    rss_peak: int
    scans: list[float]


@contextmanager
def _peak_rss(pid: int) -> Iterator[list[int]]:
    """The process's highest RSS (KiB) while the block runs, sampled every 50 ms."""
    peak = [rss_kib(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], rss_kib(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


async def _fill(
    session: aiohttp.ClientSession, url: str, key: str, attack: Attack, progress: Progress
) -> tuple[int, int]:
    """One terminal's attack: (carts opened, carts refused)."""
    headers = {"X-API-KEY": key}
    opened = refused = 0
    for _ in range(attack.carts):
        async with session.post(f"{url}/api/v1/carts", headers=headers) as response:
            body = await response.json()
            if response.status == 409:
                refused += 1
                progress.advance()
                continue
            if response.status != 201:
                raise RuntimeError(f"new cart: HTTP {response.status} {body}")
        opened += 1
        cart = f"{url}/api/v1/carts/{body['cartId']}/lineItems"
        for first in range(0, attack.lines, PER_REQUEST):
            count = min(PER_REQUEST, attack.lines - first)
            batch = [{"itemCode": ITEMS[(first + n) % len(ITEMS)]} for n in range(count)]
            async with session.post(cart, json=batch, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"scan: HTTP {response.status} {await response.text()}")
        progress.advance()
    return opened, refused


async def _scan_normally(url: str, key: str, stop: asyncio.Event) -> list[float]:
    """A normal terminal: one cart, one item every 20 ms (a new cart when it is full)."""
    headers = {"X-API-KEY": key}
    latencies: list[float] = []
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        cart = ""
        while not stop.is_set():
            if not cart or len(latencies) % 400 == 0:
                async with session.post(f"{url}/api/v1/carts") as response:
                    cart = f"{url}/api/v1/carts/{(await response.json())['cartId']}/lineItems"
            began = time.perf_counter()
            async with session.post(cart, json=[{"itemCode": "ITEM0005"}]) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"normal scan: HTTP {response.status}")
            latencies.append(time.perf_counter() - began)
            await asyncio.sleep(0.02)
    return latencies


async def _attack(cart: ServiceProcess, keys: list[str], normal: str, attack: Attack) -> Measured:
    idle = rss_kib(cart.process.pid)
    stop = asyncio.Event()
    scanner = asyncio.create_task(_scan_normally(cart.url(), normal, stop))
    progress = Progress(len(keys) * attack.carts, "carts tried", unit="carts")
    timeout = aiohttp.ClientTimeout(total=60)
    with _peak_rss(cart.process.pid) as peak:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            results = await asyncio.gather(
                *(_fill(session, cart.url(), key, attack, progress) for key in keys)
            )
        stop.set()
        scans = await scanner
    progress.finish()
    return Measured(sum(r[0] for r in results), sum(r[1] for r in results), idle, peak[0], scans)


def run(terminals: int, attack: Attack, settings: dict[str, str]) -> Measured:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        master_data = start_master_data(tmp)
        try:
            keys = [add_terminal(tmp, TENANT, STORE, f"A{n:02d}") for n in range(terminals)]
            normal = add_terminal(tmp, TENANT, STORE, "N01")
            cart = start_cart(tmp, master_data, TERMINAL_RATE_LIMIT="0", **settings)
            try:
                return asyncio.run(_attack(cart, keys, normal, attack))
            finally:
                cart.stop()
        finally:
            master_data.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--terminals", type=int, default=1)
    parser.add_argument("--carts", type=int, default=300)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE")
    arguments = parser.parse_args()
    settings = dict(pair.split("=", 1) for pair in arguments.setting)
    attack = Attack(arguments.carts, arguments.lines)
    measured = run(arguments.terminals, attack, settings)
    print(f"carts opened {measured.opened}, refused {measured.refused}")
    growth = (measured.rss_peak - measured.rss_idle) / 1024
    print(f"cart RSS: {measured.rss_idle / 1024:.1f} MiB idle, "
          f"peak {measured.rss_peak / 1024:.1f} MiB (+{growth:.1f})")  # fmt: skip
    if measured.scans:
        print(f"a normal terminal's scan meanwhile ({len(measured.scans)}): "
              f"p50 {percentile(measured.scans, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(measured.scans, 0.99) * 1000:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
