"""One asyncio lock per key (here: per cart), dropped when nobody holds or waits for it."""

from __future__ import annotations

import asyncio


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[str, _Held] = {}

    def hold(self, key: str) -> _Held:
        """`async with locks.hold(key):` - one holder per key at a time."""
        held = self._locks.get(key)
        if held is None:
            held = self._locks[key] = _Held(self._locks, key)
        held.users += 1
        return held

    def __len__(self) -> int:
        return len(self._locks)


class _Held:
    """A key's lock and how many hold or wait for it (a plain class: this is on every request,
    where a generator-based context manager costs several times more)."""

    __slots__ = ("_key", "_lock", "_owner", "users")

    def __init__(self, owner: dict[str, _Held], key: str) -> None:
        self._owner = owner
        self._key = key
        self._lock = asyncio.Lock()
        self.users = 0

    async def __aenter__(self) -> None:
        try:
            await self._lock.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *_: object) -> None:
        self._lock.release()
        self._leave()

    def _leave(self) -> None:
        self.users -= 1
        if self.users == 0:
            del self._owner[self._key]
