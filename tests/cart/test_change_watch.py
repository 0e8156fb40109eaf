"""The change watch in process: what a source says ends a stream is retried; a bug is not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from gen.kugel.item.v1 import (
    WatchHeartbeat,
    WatchItemChangesRequest,
    WatchItemChangesResponse,
)
from services.cart.item_master.change_sources import WatchFailed
from services.cart.item_master.change_watch import ItemChangeWatch, WatchedTenants, WatchMetrics
from services.cart.item_master.item_cache import ItemCache


class FailingSource:
    """Sends one heartbeat, then fails with `error`, every time it is opened."""

    name = "scripted"

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.opened = 0

    async def stream(
        self, request: WatchItemChangesRequest
    ) -> AsyncIterator[WatchItemChangesResponse]:
        self.opened += 1
        yield WatchItemChangesResponse(heartbeat=WatchHeartbeat(sequence=7))
        raise self.error

    def another_ready(self) -> bool:
        return False

    async def close(self) -> None:
        return None


def watch(source: FailingSource) -> ItemChangeWatch:
    tenants = WatchedTenants()
    tenants.add("T0001")
    cache = ItemCache(ttl=60, not_found_ttl=1, max_size=10)
    metrics = WatchMetrics(CollectorRegistry())
    return ItemChangeWatch([source], cache, tenants, metrics, idle_timeout=5)


async def test_a_stream_that_fails_is_opened_again_from_its_position() -> None:
    source = FailingSource(WatchFailed("unavailable: restarting"))
    the_watch = watch(source)
    task = asyncio.create_task(the_watch.run())
    while source.opened < 2:
        await asyncio.sleep(0.01)
    task.cancel()
    assert the_watch.position == 7


async def test_a_bug_in_a_source_ends_the_watch_with_its_stack_trace() -> None:
    source = FailingSource(ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        await asyncio.wait_for(watch(source).run(), 5)
    assert source.opened == 1


class GatedSource:
    """Each stream waits for its gate, then fails: the test decides when."""

    name = "gated"

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.waiting = 0

    async def stream(
        self, request: WatchItemChangesRequest
    ) -> AsyncIterator[WatchItemChangesResponse]:
        self.waiting += 1
        await self.gate.wait()
        raise WatchFailed("master-data went away")
        yield  # an async generator  # pragma: no cover

    def another_ready(self) -> bool:
        return False

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("turns", range(6))
async def test_a_shutdown_ends_the_watch_even_as_its_stream_fails(turns: int) -> None:
    """Before: cancelled in the same moment as its stream failed (master-data SIGKILLed, the
    cart SIGTERMed), the watch took the failure, lost the cancel (3.11's wait_for) and went on
    reconnecting: the cart never stopped."""
    source = GatedSource()
    tenants = WatchedTenants()
    tenants.add("T0001")
    the_watch = ItemChangeWatch(
        [source], ItemCache(ttl=60, not_found_ttl=1, max_size=10), tenants,
        WatchMetrics(CollectorRegistry()), idle_timeout=5,
    )  # fmt: skip
    task = asyncio.create_task(the_watch.run())
    while not source.waiting:
        await asyncio.sleep(0)
    source.gate.set()  # the stream fails ...
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()  # ... as the cart shuts down
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)


class Addresses(FailingSource):
    """A gRPC source with addresses: while another is ready, a failed stream goes to it."""

    def __init__(self, ready_after_failure: int) -> None:
        super().__init__(WatchFailed("stream lost at 10.0.0.1:1"))
        self.name = "grpc"
        self.ready = ready_after_failure

    def another_ready(self) -> bool:
        self.ready -= 1
        return self.ready >= 0


async def test_a_failed_stream_tries_another_address_before_the_other_transport() -> None:
    grpc, connect = Addresses(ready_after_failure=2), FailingSource(WatchFailed("down"))
    tenants = WatchedTenants()
    tenants.add("T0001")
    the_watch = ItemChangeWatch(
        [grpc, connect], ItemCache(ttl=60, not_found_ttl=1, max_size=10), tenants,
        WatchMetrics(CollectorRegistry()), idle_timeout=5,
    )  # fmt: skip
    task = asyncio.create_task(the_watch.run())
    while connect.opened < 1:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert grpc.opened == 3  # twice more over gRPC (other addresses), then Connect
