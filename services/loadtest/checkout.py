"""Virtual terminals driving the cart API over HTTP (aiohttp), recording what each call took."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from services.master_data import demo_data

# Active demo items: every 50th is withdrawn from sale.
SCANNABLE = [demo_data.item_code(n) for n in range(1, demo_data.ITEMS_PER_TENANT + 1) if n % 50]


@dataclass
class Recorder:
    """Latencies per endpoint (seconds) and errors per endpoint and status."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    carts_done: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float = 0.0

    def record(self, endpoint: str, seconds: float, status: int, expected: int) -> None:
        """One call; a status other than the expected one counts as an error (599: no answer)."""
        self.latencies.setdefault(endpoint, []).append(seconds)
        if status not in (expected, 599):
            self.errors[f"{endpoint} {status}"] += 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started


class Terminal:
    """One till: its own API key header on a session shared by all terminals of a run."""

    def __init__(
        self, session: aiohttp.ClientSession, api: str, api_key: str, recorder: Recorder
    ) -> None:
        self._session = session
        self._api = api
        self._headers = {"X-API-KEY": api_key}
        self._recorder = recorder

    async def _call(
        self, endpoint: str, method: str, path: str, body: Any = None, expected: int = 200
    ) -> Any:
        started = time.perf_counter()
        try:
            async with self._session.request(
                method, self._api + path, json=body, headers=self._headers
            ) as response:
                payload = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            self._recorder.record(endpoint, time.perf_counter() - started, 599, expected)
            self._recorder.errors[f"{endpoint} {type(error).__name__}"] += 1
            return None
        self._recorder.record(endpoint, time.perf_counter() - started, status, expected)
        return payload if status == expected else None

    async def checkout(self, items: list[str], *, cancel: bool = False) -> bool:
        """Create a cart, scan the items one request each, then pay cash and bill (or cancel)."""
        cart = await self._call("create cart", "POST", "/carts", expected=201)
        if cart is None:
            return False
        path = f"/carts/{cart['cartId']}"
        for code in items:
            if (
                await self._call("add item", "POST", f"{path}/lineItems", [{"itemCode": code}])
                is None
            ):
                return False
        if cancel:
            return await self._call("cancel cart", "POST", f"{path}/cancel") is not None
        totals = await self._call("subtotal", "POST", f"{path}/subtotal")
        if totals is None:
            return False
        cash = -(-int(totals["total"]) // 1000) * 1000  # the next round thousand
        if (
            await self._call(
                "pay cash", "POST", f"{path}/payments", {"method": "cash", "amount": cash}
            )
            is None
        ):
            return False
        return await self._call("bill", "POST", f"{path}/bill") is not None


def _baskets(carts: int | None, scans: int, seed: int) -> Iterator[list[str]]:
    rng = random.Random(seed)  # noqa: S311 - reproducible baskets, not secrets
    produced = 0
    while carts is None or produced < carts:
        produced += 1
        yield rng.sample(SCANNABLE, scans)


async def run_checkouts(
    api: str,
    api_key: str,
    *,
    carts: int | None = None,
    seconds: float | None = None,
    terminals: int,
    scans_per_cart: int = 20,
    seed: int = 7,
    on_cart_done: Callable[[bool], None] | None = None,
    cancel: bool = False,
) -> Recorder:
    """Checkouts by `terminals` concurrent virtual terminals: `carts` of them in all, or as
    many as fit in `seconds` (a cart under way when time is up is finished)."""
    recorder = Recorder()
    queue = _baskets(carts, scans_per_cart, seed)
    stop_at = None if seconds is None else time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=terminals)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def till() -> None:
            terminal = Terminal(session, api, api_key, recorder)
            for basket in queue:
                if stop_at is not None and time.monotonic() >= stop_at:
                    break
                ok = await terminal.checkout(basket, cancel=cancel)
                recorder.carts_done += ok
                if on_cart_done is not None:
                    on_cart_done(ok)

        await asyncio.gather(*(till() for _ in range(terminals)))
    recorder.finished = time.monotonic()
    return recorder
