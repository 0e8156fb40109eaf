"""The balanced channel: calls to the ready address with the fewest out (round robin among
equals), a failed address skipped for its cool-down then probed once, the name resolved again
on its period and soon after a failure, a removed address closed once its calls are done."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection
from typing import Any

from services.common.circuit_breaker import BreakerState
from services.rpc.grpc_balancer import BalancedChannel, Subchannel
from services.rpc.grpc_target import Address, GrpcTarget

A, B, C, D = (("10.0.0.1", 1), ("10.0.0.2", 1), ("10.0.0.3", 1), ("10.0.0.4", 1))


class Name(GrpcTarget):
    """A name whose addresses the test sets (the real one asks the system's resolver)."""

    def __init__(self, *addresses: Address) -> None:
        super().__init__("dns:///pool:1", host="pool", port=1)
        object.__setattr__(self, "now", list(addresses))
        object.__setattr__(self, "asked", 0)

    async def resolve(self) -> list[Address]:
        object.__setattr__(self, "asked", self.asked + 1)  # type: ignore[attr-defined]
        return list(self.now)  # type: ignore[attr-defined]


class FakeChannel:
    """Handshakes at once, unless `silent` (a port that accepts and never speaks HTTP/2)."""

    def __init__(self, address: Address, *, silent: bool = False) -> None:
        self.address = address
        self.closed = False
        self.handshaken = False
        self.silent = silent

    async def handshake(self) -> None:
        if self.silent:
            await asyncio.Event().wait()
        self.handshaken = True

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def balanced(
    target: GrpcTarget, clock: Clock, silent: Collection[Address] = (), **kwargs: Any
) -> BalancedChannel:
    options: dict[str, Any] = {"resolve_every_seconds": 30, "cooldown_seconds": 5, **kwargs}

    def connect(address: Address) -> FakeChannel:
        return FakeChannel(address, silent=address in silent)

    return BalancedChannel(target, connect, clock=clock, **options)  # type: ignore[arg-type]


async def settle() -> None:
    """Let a background resolve run and finish."""
    for _ in range(3):
        await asyncio.sleep(0)


async def picks(channel: BalancedChannel, count: int) -> Counter[Address]:
    seen: Counter[Address] = Counter()
    for _ in range(count):
        chosen = await channel.pick()
        assert chosen is not None
        seen[chosen.address] += 1
        channel.release(chosen)
    return seen


async def test_calls_go_round_robin_over_every_address() -> None:
    channel = balanced(Name(A, B, C), Clock())
    assert await picks(channel, 300) == {A: 100, B: 100, C: 100}


async def test_the_address_with_the_fewest_calls_out_goes_first() -> None:
    channel = balanced(Name(A, B, C), Clock())
    held = [await channel.pick() for _ in range(3)]  # one out on each
    assert {s.address for s in held if s} == {A, B, C}
    slow = held[0]
    assert slow is not None
    for s in held[1:]:
        assert s is not None
        channel.release(s)  # the other two answered; the first is still out
    nexts = [await channel.pick() for _ in range(2)]
    assert slow not in nexts


async def test_a_failed_address_is_skipped_then_probed_after_its_cooldown() -> None:
    clock = Clock()
    channel = balanced(Name(A, B), clock)
    first = await channel.pick()
    assert first is not None
    channel.release(first)
    channel.failed(first)
    assert set(await picks(channel, 10)) == {B if first.address == A else A}
    clock.now += 5  # the cool-down is over
    everyone_failed = await channel.pick(skip=[s for s in channel.subchannels if s is not first])
    assert everyone_failed is first  # the one probe
    assert await channel.pick(skip=[s for s in channel.subchannels if s is not first]) is None
    channel.release(first)
    channel.succeeded(first)
    assert set(await picks(channel, 10)) == {A, B}


async def test_no_address_ready_is_none() -> None:
    channel = balanced(Name(A), Clock())
    only = await channel.pick()
    assert only is not None
    channel.release(only)
    channel.failed(only)
    assert await channel.pick() is None
    assert channel.ready_count() == 0


async def test_the_name_is_resolved_again_on_its_period_and_after_a_failure() -> None:
    clock = Clock()
    name = Name(A, B)
    channel = balanced(name, clock, resolve_every_seconds=30)
    await picks(channel, 4)
    assert name.asked == 1  # type: ignore[attr-defined]
    name.now.append(C)  # type: ignore[attr-defined]  # a replica added by a scale-out
    clock.now += 30
    await picks(channel, 1)  # the period is over: resolved again, in the background
    await settle()
    assert set(await picks(channel, 30)) == {A, B, C}
    clock.now += 2
    failing = await channel.pick()
    assert failing is not None
    channel.release(failing)
    channel.failed(failing)
    await settle()
    assert name.asked == 3  # type: ignore[attr-defined]


async def test_a_removed_address_closes_once_its_calls_are_done() -> None:
    clock = Clock()
    name = Name(A, B)
    channel = balanced(name, clock)
    held: list[Subchannel] = []
    while not any(s.address == A for s in held):
        chosen = await channel.pick()
        assert chosen is not None
        held.append(chosen)
    gone = next(s for s in held if s.address == A)
    name.now.remove(A)  # type: ignore[attr-defined]
    await channel.resolve()
    assert [s.address for s in channel.subchannels] == [B]
    assert not gone.channel.closed  # type: ignore[attr-defined]  # a call is still out on it
    for s in held:
        channel.release(s)
    assert gone.channel.closed  # type: ignore[attr-defined]


async def test_many_addresses_keep_a_bounded_subset() -> None:
    many = [(f"10.0.1.{n}", 1) for n in range(1, 51)]
    channel = balanced(Name(*many), Clock(), max_addresses=8)
    await channel.resolve()
    kept = [s.address for s in channel.subchannels]
    assert len(kept) == 8
    await channel.resolve()
    assert [s.address for s in channel.subchannels] == kept  # stable across resolves


async def test_a_name_that_stops_resolving_keeps_what_it_had() -> None:
    class Failing(Name):
        async def resolve(self) -> list[Address]:
            raise OSError("no DNS")

    channel = balanced(Name(A, D), Clock())
    await channel.resolve()
    channel.target = Failing()
    await channel.resolve()
    assert [s.address for s in channel.subchannels] == [A, D]


async def test_calls_made_before_the_first_resolve_ends_wait_for_it() -> None:
    class Slow(Name):
        async def resolve(self) -> list[Address]:
            await asyncio.sleep(0.01)
            return await super().resolve()

    name = Slow(A, B)
    channel = balanced(name, Clock())
    chosen = await asyncio.gather(*(channel.pick() for _ in range(50)))
    assert all(s is not None for s in chosen)  # none found the list still empty
    assert name.asked == 1  # type: ignore[attr-defined]


async def test_a_goaway_resolves_the_name_again() -> None:
    clock = Clock()
    name = Name(A)
    channel = balanced(name, clock)
    only = await channel.pick()
    assert only is not None
    channel.release(only)
    name.now.append(B)  # type: ignore[attr-defined]  # a scale-out while the connection ages
    clock.now += 2
    only.channel.on_goaway()  # type: ignore[attr-defined]  # the replica aged the connection
    await settle()
    assert {s.address for s in channel.subchannels} == {A, B}


async def test_failed_addresses_make_room_for_untried_ones() -> None:
    many = [(f"10.0.1.{n}", 1) for n in range(1, 101)]
    channel = balanced(Name(*many), Clock(), max_addresses=8)
    await channel.resolve()
    first = channel.subchannels
    for subchannel in first[:6]:  # six of the eight refuse
        channel.failed(subchannel)
    await channel.resolve()
    now = channel.subchannels
    assert len(now) == 8
    assert set(first[6:]) <= set(now)  # the ones that answer stay
    assert not set(first[:6]) & set(now)  # the failed ones gave way to untried addresses
    few = balanced(Name(*many[:8]), Clock(), max_addresses=8)
    await few.resolve()
    for subchannel in few.subchannels[:6]:
        few.failed(subchannel)
    await few.resolve()
    assert len(few.subchannels) == 8  # nothing untried: the failed ones stay, to be probed


async def test_an_address_that_never_handshakes_is_not_ready_nor_picked() -> None:
    channel = balanced(Name(A, B), Clock(), silent={A}, handshake_seconds=60)
    await channel.resolve()
    await settle()  # both connect in the background; only B's server speaks HTTP/2
    assert channel.ready_count() == 1
    assert await picks(channel, 30) == {B: 30}


async def test_no_handshake_within_its_time_is_a_failure() -> None:
    channel = balanced(Name(A, B), Clock(), silent={A}, handshake_seconds=0.01)
    await channel.resolve()
    await asyncio.sleep(0.05)
    silent = next(s for s in channel.subchannels if s.address == A)
    assert silent.breaker.state is BreakerState.OPEN
    assert not channel.untried_besides([s for s in channel.subchannels if s is not silent])


async def test_an_address_added_by_a_scale_out_connects_before_its_first_call() -> None:
    clock = Clock()
    name = Name(A)
    channel = balanced(name, clock)
    await picks(channel, 2)
    name.now.append(B)  # type: ignore[attr-defined]
    await channel.resolve()
    await settle()
    assert channel.ready_count() == 2  # B handshook with no call of its own
    assert await picks(channel, 20) == {A: 10, B: 10}
