"""Per-cart locks serialise changes to one cart and are dropped once unused."""

from __future__ import annotations

import asyncio

from services.cart.keyed_locks import KeyedLocks


async def test_one_key_at_a_time_and_no_leftovers() -> None:
    locks = KeyedLocks()
    inside: list[str] = []
    overlaps = 0

    async def change(key: str) -> None:
        nonlocal overlaps
        async with locks.hold(key):
            overlaps += inside.count(key)
            inside.append(key)
            await asyncio.sleep(0.001)
            inside.remove(key)

    await asyncio.gather(*(change(k) for k in ["cart-1"] * 20 + ["cart-2"] * 20))
    assert overlaps == 0
    assert len(locks) == 0  # nothing kept for carts nobody is changing


async def test_lock_released_when_the_body_raises() -> None:
    locks = KeyedLocks()
    try:
        async with locks.hold("cart-1"):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert len(locks) == 0
    async with locks.hold("cart-1"):
        pass
