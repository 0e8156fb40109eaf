"""The till keeps selling while master-data is away: the change stream as the authority over
cached items, last known copies when both transports fail, and the outage state between."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from prometheus_client import CollectorRegistry

from gen.kugel.item.v1 import (
    ItemChange,
    WatchHeartbeat,
    WatchItemChangesRequest,
    WatchItemChangesResponse,
)
from services.cart.item_master.change_watch import ItemChangeWatch, WatchedTenants, WatchMetrics
from services.cart.item_master.client import ItemMasterClient
from services.cart.item_master.item_cache import NOT_FOUND, CacheKey, ItemCache
from services.cart.item_master.metrics import LookupMetrics
from services.cart.item_master.model import ItemLookupError, LookupFailure
from services.cart.item_master.outage import Outage
from services.cart.item_master.refetch_queue import RefetchQueue
from services.common.circuit_breaker import CircuitBreaker

from .test_item_master_client import CATALOGUE, Clock, ScriptedTransport, detail

KEY = ("T0001", "S001", "A")


def cache(clock: Clock, ttl: float = 60, max_stale: float = 3600) -> ItemCache:
    return ItemCache(ttl=ttl, not_found_ttl=5, max_size=100, max_stale=max_stale, clock=clock)


def test_past_its_ttl_an_item_is_fresh_only_while_the_stream_covers_its_tenant() -> None:
    clock = Clock()
    items = cache(clock)
    items.put(KEY, detail("A"))
    clock.now += 61
    assert items.get(KEY) is None  # no stream: the TTL rules
    items.cover(["T0001"])
    assert items.get(KEY) == detail("A")
    clock.now += 10_000
    assert items.get(KEY) == detail("A")  # however old
    items.heard()
    items.uncover()
    clock.now += 59
    assert items.get(KEY) == detail("A")  # ttl from the stream's last event
    clock.now += 2
    assert items.get(KEY) is None


def test_the_stream_covers_only_its_own_tenants_and_never_a_not_found() -> None:
    clock = Clock()
    items = cache(clock)
    items.put(("T0002", "S001", "A"), detail("A"))
    items.put(("T0001", "S001", "Z"), NOT_FOUND)
    items.cover(["T0001"])
    clock.now += 61
    assert items.get(("T0002", "S001", "A")) is None
    assert items.get(("T0001", "S001", "Z")) is None


def test_a_last_known_copy_lives_max_stale_and_never_after_a_change_named_it() -> None:
    clock = Clock()
    items = cache(clock, max_stale=3600)
    items.put(KEY, detail("A"))
    items.put(("T0001", "S001", "B"), detail("B"))
    clock.now += 3000
    assert items.last_known(KEY) == detail("A")
    assert items.evict("T0001", "S001", ["B"], all_items=False) == [("T0001", "S001", "B")]
    assert items.last_known(("T0001", "S001", "B")) is None
    clock.now += 601
    assert items.last_known(KEY) is None  # older than MAX_STALE_SECONDS


def make_client(
    clock: Clock, fetch_again: Callable[[list[CacheKey]], None] | None = None
) -> tuple[ItemMasterClient, ScriptedTransport, ScriptedTransport]:
    grpc = ScriptedTransport("grpc", dict(CATALOGUE))
    http = ScriptedTransport("connect", dict(CATALOGUE))
    registry = CollectorRegistry()
    client = ItemMasterClient(
        grpc=grpc,
        http=http,
        timeout_seconds=5,
        breaker=CircuitBreaker(5.0, clock=clock),
        cache=cache(clock, ttl=1),
        metrics=LookupMetrics(registry),
        outage=Outage(5.0, registry, clock=clock),
        fetch_again=fetch_again,
    )
    return client, grpc, http


async def test_known_items_past_the_ttl_sell_from_their_last_known_copy_in_an_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    client, grpc, http = make_client(clock)
    await client.get_items("T0001", "S001", ["A", "B"])
    clock.now += 2  # past the TTL
    grpc.failure = http.failure = LookupFailure.UNAVAILABLE
    with caplog.at_level(logging.INFO):
        result = await client.get_items("T0001", "S001", ["A", "B"])
        assert result.found == {"A": detail("A"), "B": detail("B")}
        assert result.last_known == {"A", "B"}
        calls = len(grpc.calls) + len(http.calls)
        again = await client.get_items("T0001", "S001", ["A"])  # the outage is known now
        assert again.last_known == {"A"}
        assert len(grpc.calls) + len(http.calls) == calls  # nothing waited for a dead hop
        with pytest.raises(ItemLookupError) as raised:
            await client.get_items("T0001", "S001", ["C"])  # never seen
        assert raised.value.failure is LookupFailure.UNAVAILABLE
        grpc.failure = http.failure = None
        clock.now += 6  # the cool-down: one lookup probes and ends the outage
        back = await client.get_items("T0001", "S001", ["A"])
        assert back.last_known == frozenset()
    starts = [r for r in caplog.records if "master-data unreachable" in r.message]
    ends = [r for r in caplog.records if "master-data answers again after" in r.message]
    assert (len(starts), len(ends)) == (1, 1), [r.message for r in caplog.records]
    assert "3 items were sold at last known copies" in ends[0].message


@pytest.mark.parametrize("failure", [LookupFailure.NOT_FOUND, LookupFailure.REJECTED])
async def test_answers_that_are_not_outages_never_sell_a_last_known_copy(
    failure: LookupFailure,
) -> None:
    clock = Clock()
    client, grpc, http = make_client(clock)
    await client.get_items("T0001", "S001", ["A"])
    clock.now += 2
    grpc.failure = http.failure = failure
    with pytest.raises(ItemLookupError) as raised:
        await client.get_items("T0001", "S001", ["A"])
    assert raised.value.failure is failure


def watch_with(
    items: ItemCache, changed: RefetchQueue | None = None
) -> tuple[ItemChangeWatch, WatchedTenants]:
    tenants = WatchedTenants()
    tenants.add("T0001")
    watch = ItemChangeWatch(
        [], items, tenants, WatchMetrics(CollectorRegistry()), idle_timeout=5, changed=changed
    )
    return watch, tenants


async def test_a_changed_cached_item_is_fetched_again_at_once() -> None:
    clock = Clock()
    client, grpc, http = make_client(clock)
    await client.get_items("T0001", "S001", ["A", "B"])
    assert client.cache is not None
    changed = RefetchQueue(client.get_items)
    watch, _ = watch_with(client.cache, changed)
    refresher = asyncio.create_task(changed.run())
    grpc.catalogue["A"] = http.catalogue["A"] = detail("A", price=250)  # the new price
    change = ItemChange(sequence=1, tenant_id="T0001", store_code="S001", item_codes=["A"])
    watch.apply(WatchItemChangesResponse(change=change))
    await asyncio.wait_for(changed.idle.wait(), 5)
    refresher.cancel()
    assert changed.fetched == 1
    assert client.cache.last_known(KEY) == detail("A", price=250)  # the new copy, not the old


async def test_a_change_to_every_item_is_fetched_again_in_bounded_batches() -> None:
    asked: list[tuple[str, str, list[str]]] = []

    async def fetch(tenant: str, store: str, codes: list[str]) -> None:
        asked.append((tenant, store, codes))

    changed = RefetchQueue(fetch)
    changed.add(("T0001", "S001", f"I{n:04d}") for n in range(250))
    changed.add(("T0001", "S002", "I0001") for _ in range(1))
    refresher = asyncio.create_task(changed.run())
    await asyncio.wait_for(changed.idle.wait(), 5)
    refresher.cancel()
    assert [(s, len(c)) for _, s, c in asked] == [
        ("S001", 100),
        ("S001", 100),
        ("S001", 50),
        ("S002", 1),
    ]


class TwoHeartbeats:
    """Opens with a heartbeat, sends the second when told, then stays open."""

    name = "scripted"

    def __init__(self) -> None:
        self.second = asyncio.Event()

    async def stream(
        self, request: WatchItemChangesRequest
    ) -> AsyncIterator[WatchItemChangesResponse]:
        yield WatchItemChangesResponse(heartbeat=WatchHeartbeat(sequence=5))
        await self.second.wait()
        yield WatchItemChangesResponse(heartbeat=WatchHeartbeat(sequence=5))
        await asyncio.Event().wait()

    def another_ready(self) -> bool:
        return False

    async def close(self) -> None:
        return None


async def test_the_stream_covers_its_tenants_from_its_second_position_on() -> None:
    clock = Clock()
    items = cache(clock)
    source = TwoHeartbeats()
    tenants = WatchedTenants()
    tenants.add("T0001")
    metrics = WatchMetrics(CollectorRegistry())
    watch = ItemChangeWatch([source], items, tenants, metrics, idle_timeout=5)
    running = asyncio.create_task(watch.run())
    await asyncio.sleep(0.05)  # open: what was cached before is dropped (and fetched again)
    items.put(KEY, detail("A"))
    clock.now += 61  # past the TTL
    assert items.get(KEY) is None  # opened, not yet caught up: the TTL still rules
    source.second.set()
    await asyncio.sleep(0.05)
    assert items.get(KEY) == detail("A")  # caught up: the stream vouches for it
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert items.get(KEY) == detail("A")  # dropped just now: fresh for the TTL from its last event


def test_a_fetch_keeps_its_answer_unless_a_change_named_its_key_meanwhile() -> None:
    items = cache(Clock())
    started = items.generation
    items.evict("T0001", "S001", ["B"], all_items=False)  # another item's change
    items.put_fetched(KEY, detail("A"), started)
    assert items.get(KEY) == detail("A")
    started = items.generation
    items.evict("T0001", "", ["A"], all_items=False)  # A changed in every store
    items.put_fetched(KEY, detail("A", price=1), started)
    assert items.get(KEY) is None  # the answer may predate the change: not kept


async def test_a_lookup_a_change_overtook_is_fetched_again_so_the_item_keeps_a_copy() -> None:
    clock = Clock()
    again: list[tuple[str, str, str]] = []
    client, grpc, http = make_client(clock, again.extend)
    assert client.cache is not None
    grpc.delay = http.delay = 0.05
    lookup = asyncio.create_task(client.get_items("T0001", "S001", ["A"]))
    await asyncio.sleep(0.01)
    client.cache.evict("T0001", "", (), all_items=True)  # the stream opened meanwhile
    await lookup
    assert again == [KEY]  # its answer was not kept: it goes to be fetched again
