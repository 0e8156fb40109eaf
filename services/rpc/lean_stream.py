"""The lean containers of grpclib's server-side HTTP/2 stream: waiters made only when something
waits (`grpclib_seams.LeanStream` and `LeanBuffer` are made of them).

grpclib's `Stream` gives every stream three `asyncio.Event`s and a `Buffer` holding a `Queue`
(three deques and one more Event) and a deque: eight deques, kilobytes a stream before anything
is sent or awaited (docs/measurements.md). A watch open for hours awaits none of them. These
classes keep grpclib's behaviour and interface (grpclib is pinned below 0.5, its edges tested
by tests/integration/test_grpc_edges.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class LazyEvent:
    """`asyncio.Event`'s interface; its list of waiters exists only while someone waits."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[bool]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            return await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class LeanQueue(Generic[T]):
    """The part of `asyncio.Queue` grpclib's Buffer uses (unbounded, one reader)."""

    __slots__ = ("_items", "_ready")

    def __init__(self) -> None:
        self._items: list[T] = []
        self._ready: LazyEvent | None = None

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        if self._ready is not None:
            self._ready.set()

    async def get(self) -> T:
        while not self._items:
            if self._ready is None:
                self._ready = LazyEvent()
            self._ready.clear()
            await self._ready.wait()
        return self._items.pop(0)

    def get_nowait(self) -> T:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class LeanChunks(list[Any]):
    """The deque of read chunks grpclib's Buffer keeps, as a list (it holds one or two)."""

    def popleft(self) -> Any:
        return self.pop(0)
