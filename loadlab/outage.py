"""The outage drill: terminals keep scanning while master-data is SIGKILLed for a while and
comes back. Half the terminals sell in a preloaded store (PRELOAD_STORES), half in a store whose
items the cart knows only from its item cache. Prices change now and then, some just before the
kill. Prints what was sold live, from a last known copy, or not at all; wrong prices (a line
whose price is not master-data's price as of a change made a second or more before the scan);
and how long the cart took to sell live again after the restart.

    python -m loadlab.outage [--terminals 40] [--outage-seconds 60] [--think-seconds 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

from .progress import Progress
from .scenario import SCANNABLE

PRELOADED, CACHED = "S001", "S002"
PRICE_PATH = "/admin/v1/tenants/T0001/stores/{store}/prices/{item}"
ADMIN_TOKEN = "admin"  # the drill's own master-data  # noqa: S105
SETTLED_SECONDS = 1.0  # a change this old has reached the cart (its push lag is milliseconds)


@dataclass
class Drill:
    """What the terminals saw, and master-data's prices as the changer set them."""

    prices: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    sold: Counter[str] = field(default_factory=Counter)  # live / last_known / failed
    failures: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    failed_scans: list[str] = field(default_factory=list)  # the first few, for the table
    restarted_at: float = 0.0
    live_again_at: float = 0.0

    def judge(self, store: str, item: str, price: int, scanned_at: float) -> None:
        expected = self.prices.get((store, item))
        settled = expected is not None and expected[1] <= scanned_at - SETTLED_SECONDS
        if expected is not None and settled and price != expected[0]:
            self.wrong.append(f"{store}/{item}: sold at {price}, master-data {expected[0]}")


async def terminal(  # noqa: PLR0917 - one till's whole setting
    session: aiohttp.ClientSession, api: str, store: str, drill: Drill, stop_at: float,
    think: float, seed: int,
) -> None:  # fmt: skip
    rng = random.Random(seed)  # noqa: S311 - reproducible baskets, not secrets
    cart_url = ""
    lines = 0
    while time.monotonic() < stop_at:
        try:
            if not cart_url or lines >= 400:
                async with session.post(f"{api}/carts") as response:
                    cart_url = f"{api}/carts/{(await response.json())['cartId']}/lineItems"
                lines = 0
            item = rng.choice(SCANNABLE)
            scanned_at = time.monotonic()
            async with session.post(cart_url, json=[{"itemCode": item}]) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            drill.sold["failed"] += 1
            drill.failures[type(error).__name__] += 1
            await asyncio.sleep(think)
            continue
        if status != 200:
            drill.sold["failed"] += 1
            drill.failures[f"{status} {body.get('code')}"] += 1
            if len(drill.failed_scans) < 3:
                drill.failed_scans.append(f"{store}/{item}: {body.get('message')}")
        else:
            lines += 1
            line = body["lineItems"][-1]
            source = "live" if line["priceSource"] == "master_data" else "last_known"
            drill.sold[source] += 1
            drill.judge(store, item, int(line["unitPrice"]), scanned_at)
            if source == "live" and drill.restarted_at and not drill.live_again_at:
                drill.live_again_at = time.monotonic()
        await asyncio.sleep(think)


async def change_price(
    session: aiohttp.ClientSession, master_data: ServiceProcess, drill: Drill, rng: random.Random
) -> None:
    store, item = rng.choice((PRELOADED, CACHED)), rng.choice(SCANNABLE)
    price = rng.randrange(100, 10_000)
    async with session.put(
        master_data.url() + PRICE_PATH.format(store=store, item=item),
        json={"unitPrice": price},
        headers={"authorization": "Bearer admin"},
    ) as response:
        if response.status == 200:
            drill.prices[(store, item)] = (price, time.monotonic())


async def run(  # noqa: PLR0917 - the drill's settings, as the command line gives them
    root: Path, terminals: int, outage_seconds: float, think: float, before_seconds: float,
    ttl: float,
) -> Drill:  # fmt: skip
    master_data = start_master_data(root, ADMIN_TOKEN=ADMIN_TOKEN)
    keys = {
        store: add_terminal(root, "T0001", store, f"DRILL{store}") for store in (PRELOADED, CACHED)
    }
    cart = start_cart(
        root, master_data, PRELOAD_STORES=f"T0001/{PRELOADED}", TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0", GRPC_TIMEOUT="1", GRPC_BREAKER_COOLDOWN_SECONDS="1",
        ITEM_CACHE_TTL_SECONDS=str(ttl),
    )  # fmt: skip
    drill = Drill()
    restarted: ServiceProcess | None = None
    rng = random.Random(11)  # noqa: S311 - reproducible changes
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        while "preloaded T0001/S001 over" not in cart.log:  # noqa: ASYNC110 - a child's log
            await asyncio.sleep(0.05)
        api = cart.url() + "/api/v1"
        async with aiohttp.ClientSession(timeout=timeout) as admin:
            sessions = {
                store: aiohttp.ClientSession(headers={"X-API-KEY": key}, timeout=timeout)
                for store, key in keys.items()
            }
            # Every item of the cached store scanned once: the cart knows them all.
            async with sessions[CACHED].post(f"{api}/carts") as response:
                url = f"{api}/carts/{(await response.json())['cartId']}/lineItems"
            for item in SCANNABLE:
                async with sessions[CACHED].post(url, json=[{"itemCode": item}]) as response:
                    await response.read()
            total = before_seconds + outage_seconds + before_seconds
            stop_at = time.monotonic() + total
            tills = [
                asyncio.create_task(
                    terminal(sessions[(PRELOADED, CACHED)[n % 2]], api, (PRELOADED, CACHED)[n % 2],
                             drill, stop_at, think, n)
                )
                for n in range(terminals)
            ]  # fmt: skip
            progress = Progress(int(total), "drill", unit="s")
            for _ in range(int(before_seconds) - 1):
                await change_price(admin, master_data, drill, rng)
                await asyncio.sleep(1)
                progress.advance()
            for _ in range(5):  # just before the kill
                await change_price(admin, master_data, drill, rng)
            await asyncio.sleep(0.5)
            master_data.stop(signal.SIGKILL)
            for _ in range(int(outage_seconds)):
                await asyncio.sleep(1)
                progress.advance()
            restarted = start_master_data(
                root, ADMIN_TOKEN=ADMIN_TOKEN, GRPC_PORT=str(master_data.ports["gRPC"]),
                HTTP_PORT=str(master_data.ports["HTTP"]),
            )  # fmt: skip
            drill.restarted_at = time.monotonic()
            while time.monotonic() < stop_at:
                await asyncio.sleep(1)
                progress.advance()
            await asyncio.gather(*tills)
            progress.finish()
            for session in sessions.values():
                await session.close()
    finally:
        cart.stop()
        (restarted or master_data).stop()
    return drill


def table(drill: Drill, terminals: int, outage_seconds: float) -> str:
    catch_up = drill.live_again_at - drill.restarted_at if drill.live_again_at else float("nan")
    rows = [
        ("terminals", f"{terminals} (half in a preloaded store, half cache-only)"),
        ("master-data away", f"{outage_seconds:g} s (SIGKILL, then restarted)"),
        ("scans sold live", f"{drill.sold['live']:,}"),
        ("scans sold from a last known copy", f"{drill.sold['last_known']:,}"),
        (
            "scans failed",
            f"{drill.sold['failed']:,} {dict(drill.failures) or ''} {drill.failed_scans or ''}",
        ),
        ("wrong prices", f"{len(drill.wrong)} {drill.wrong[:3] or ''}"),
        ("selling live again after the restart", f"{catch_up:.2f} s"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=40)
    parser.add_argument("--outage-seconds", type=float, default=60)
    parser.add_argument("--think-seconds", type=float, default=0.5, help="between two scans")
    parser.add_argument("--before-seconds", type=float, default=10, help="before and after")
    parser.add_argument(
        "--ttl-seconds", type=float, default=5, help="the cart's ITEM_CACHE_TTL_SECONDS: short, "
        "so an outage of a minute outlives it (the default of 10 minutes would hide it)",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        drill = asyncio.run(
            run(Path(tmp), args.terminals, args.outage_seconds, args.think_seconds,
                args.before_seconds, args.ttl_seconds)
        )  # fmt: skip
    print(table(drill, args.terminals, args.outage_seconds))
    if drill.sold["failed"] or drill.wrong:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
