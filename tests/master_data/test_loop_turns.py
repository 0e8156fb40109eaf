"""LoopTurns: many tasks woken at once go on a few per turn of the loop, in order."""

from __future__ import annotations

import asyncio

from services.master_data.loop_turns import LoopTurns


async def _turn_of_each(tasks: int, per_turn: int) -> list[int]:
    turns = LoopTurns(per_turn)
    turn = 0
    seen: list[int] = []

    async def tick() -> None:
        nonlocal turn
        while len(seen) < tasks:
            turn += 1
            await asyncio.sleep(0)

    async def one() -> None:
        await turns.take()
        seen.append(turn)

    ticker = asyncio.create_task(tick())
    await asyncio.gather(*(one() for _ in range(tasks)))
    await ticker
    return seen


def test_at_most_per_turn_go_on_in_one_turn() -> None:
    seen = asyncio.run(_turn_of_each(tasks=25, per_turn=10))
    counts = [seen.count(turn) for turn in sorted(set(seen))]
    assert counts == [10, 10, 5]
    assert seen == sorted(seen)  # in the order they came


def test_a_cancelled_waiter_takes_no_place() -> None:
    async def scenario() -> list[str]:
        turns = LoopTurns(1)
        order: list[str] = []

        async def named(name: str) -> None:
            await turns.take()
            order.append(name)

        tasks = {name: asyncio.create_task(named(name)) for name in "abc"}
        await asyncio.sleep(0)  # a went on; b and c wait for later turns
        tasks["b"].cancel()
        await asyncio.wait_for(tasks["c"], 1)
        return order

    assert asyncio.run(scenario()) == ["a", "c"]
