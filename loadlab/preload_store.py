"""A big preloaded store, measured: a store of N items (200,000 by default) made with
master-data's importer, a cart with PRELOAD_STORES for it; prints the preload's time, the
cart's RSS before and after, and a scan's latency for a preloaded item never scanned beside a
scan of an item already in the item cache (today's cache hit), alternating, one sitting.

    python -m loadlab.preload_store [--items 200000] [--scans 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.support.harness.proc_stats import rss_kib
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    database,
    run_cli,
    start_cart,
    start_master_data,
)

from .progress import Progress

TENANT, STORE = "T0001", "S001"


def master_file(path: Path, items: int) -> None:
    """Items ITEMX000000.. of the demo tenant, every tenth with a store price of S001."""
    codes = [f"ITEMX{n:06d}" for n in range(items)]
    document = {
        "items": [
            {"tenantId": TENANT, "itemCode": c, "itemName": f"Bulk item {c}",
             "unitPrice": 100 + n % 900, "taxCode": "TX10", "categoryCode": "BULK"}
            for n, c in enumerate(codes)
        ],
        "storePrices": [
            {"tenantId": TENANT, "storeCode": STORE, "itemCode": c, "unitPrice": 99}
            for c in codes[::10]
        ],
    }  # fmt: skip
    path.write_text(json.dumps(document))


async def _scan(session: aiohttp.ClientSession, url: str, item: str) -> float:
    started = time.perf_counter()
    async with session.post(url, json=[{"itemCode": item}]) as response:
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"scan of {item}: HTTP {response.status} {body[:200]!r}")
    return time.perf_counter() - started


async def scans(cart: ServiceProcess, key: str, items: int, count: int) -> tuple[list[float], ...]:
    """(preloaded never scanned, cached) latencies, alternating one of each."""
    api = cart.url() + "/api/v1"
    preloaded: list[float] = []
    cached: list[float] = []
    async with aiohttp.ClientSession(headers={"X-API-KEY": key}) as session:
        async with session.post(f"{api}/carts") as response:
            cart_id = (await response.json())["cartId"]
        url = f"{api}/carts/{cart_id}/lineItems"
        await _scan(session, url, "ITEM0001")  # the cached one
        progress = Progress(count, "scans", unit="pairs")
        for n in range(count):
            if n % 200 == 199:  # a cart holds 500 lines: two a pair
                async with session.post(f"{api}/carts") as response:
                    url = f"{api}/carts/{(await response.json())['cartId']}/lineItems"
            preloaded.append(await _scan(session, url, f"ITEMX{(n * 7919) % items:06d}"))
            cached.append(await _scan(session, url, "ITEM0001"))
            progress.advance()
    return preloaded, cached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--scans", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        master_data = start_master_data(root)
        cart = None
        try:
            path = root / "bulk.json"
            master_file(path, args.items)
            print(f"importing {args.items:,} items ...", flush=True)
            started = time.monotonic()
            env = {"MASTER_DATA_DB": database(root, "master")[0]}
            run_cli(["master-data", "import", str(path)], env)
            print(f"imported in {time.monotonic() - started:.1f} s", flush=True)
            key = add_terminal(root, TENANT, STORE, "BULK1")
            cart = start_cart(
                root,
                master_data,
                PRELOAD_STORES=f"{TENANT}/{STORE}",
                TERMINAL_RATE_LIMIT="0",
                MAX_OPEN_CARTS="0",
            )
            rss_start = rss_kib(cart.process.pid)
            started = time.monotonic()
            while "preloaded T0001/S001 over" not in cart.log:
                if time.monotonic() - started > 600:
                    raise SystemExit("no preload within 600 s:\n" + cart.log[-2000:])
                time.sleep(0.1)
            logged = re.search(
                r"preloaded T0001/S001 over \S+: (\d+) items .* in (\S+) s", cart.log
            )
            seconds = float(logged.group(2)) if logged else time.monotonic() - started
            preloaded_items = int(logged.group(1)) if logged else 0
            rss_loaded = rss_kib(cart.process.pid)
            preloaded, cached = asyncio.run(scans(cart, key, args.items, args.scans))
        finally:
            if cart is not None:
                cart.stop()
            master_data.stop()
    p50, cached_p50 = statistics.median(preloaded), statistics.median(cached)
    print(f"preload: {preloaded_items:,} items in {seconds:.1f} s (the cart's own log)")
    print(f"cart RSS: {rss_start / 1024:.0f} MiB at start, {rss_loaded / 1024:.0f} MiB preloaded")
    print(
        f"scan p50: preloaded item never scanned {p50 * 1e3:.2f} ms, cached item"
        f" {cached_p50 * 1e3:.2f} ms ({p50 / cached_p50:.2f}x), {args.scans} of each, alternating"
    )


if __name__ == "__main__":
    main()
