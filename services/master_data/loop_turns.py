"""Many tasks woken at once, let through a few per turn of the event loop.

A change woken 10,000 watches in one turn: the loop ran all of them (about a second) before it
looked at its sockets again, so a normal lookup waited that long. Through `LoopTurns` at most
`per_turn` go on in one turn, in the order they came, and the loop polls its sockets between.
"""

from __future__ import annotations

import asyncio
from collections import deque


class LoopTurns:
    def __init__(self, per_turn: int) -> None:
        self.per_turn = per_turn
        self._passed = 0  # in this turn
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._next_scheduled = False

    async def take(self) -> None:
        """Return in this turn if it has room (and nobody waits), else in a later one."""
        self._schedule_next()
        if self._passed < self.per_turn and not self._waiting:
            self._passed += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        await waiter

    def _schedule_next(self) -> None:
        if not self._next_scheduled:
            self._next_scheduled = True
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._next_scheduled = False
        self._passed = 0
        while self._waiting and self._passed < self.per_turn:
            waiter = self._waiting.popleft()
            if not waiter.done():  # not cancelled meanwhile
                waiter.set_result(None)
                self._passed += 1
        if self._waiting:
            self._schedule_next()
