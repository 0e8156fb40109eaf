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

from .scenario import DISCOUNT_EVERY, SCANNABLE, Step, checkout


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

    async def _call(self, step: Step) -> Any:
        """The step's JSON answer, or None when it failed (recorded as an error)."""
        started = time.perf_counter()
        try:
            async with self._session.request(
                step.method, self._api + step.path, json=step.body, headers=self._headers
            ) as response:
                payload = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            self._recorder.record(step.name, time.perf_counter() - started, 599, step.expected)
            self._recorder.errors[f"{step.name} {type(error).__name__}"] += 1
            return None
        self._recorder.record(step.name, time.perf_counter() - started, status, step.expected)
        return payload if status == step.expected else None

    async def checkout(
        self, items: list[str], *, cancel: bool = False, discount: bool = False
    ) -> bool:
        """One run of the checkout scenario; True when every step succeeded."""
        steps = checkout(items, cancel=cancel, discount=discount)
        answer = None
        try:
            while True:
                answer = await self._call(steps.send(answer))
                if answer is None:
                    steps.close()
                    return False
        except StopIteration:
            return True


def _baskets(carts: int | None, scans: int, seed: int) -> Iterator[tuple[list[str], bool]]:
    """Each basket's items, and whether it gets a cart discount (one in DISCOUNT_EVERY)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible baskets, not secrets
    produced = 0
    while carts is None or produced < carts:
        produced += 1
        yield rng.sample(SCANNABLE, scans), produced % DISCOUNT_EVERY == 0


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
            for basket, discount in queue:
                if stop_at is not None and time.monotonic() >= stop_at:
                    break
                ok = await terminal.checkout(basket, cancel=cancel, discount=discount)
                recorder.carts_done += ok
                if on_cart_done is not None:
                    on_cart_done(ok)

        await asyncio.gather(*(till() for _ in range(terminals)))
    recorder.finished = time.monotonic()
    return recorder
