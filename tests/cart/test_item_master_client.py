"""ItemMasterClient's own logic (selection, fallback, breaker, cache, coalescing, deadlines),
driven through scripted transports. The real transports meet real master-data processes in
tests/integration."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import pytest
from prometheus_client import CollectorRegistry

from gen.kugel.item.v1 import BatchGetItemDetailsRequest
from services.cart.item_master.client import ItemMasterClient
from services.cart.item_master.item_cache import ItemCache
from services.cart.item_master.metrics import LookupMetrics
from services.cart.item_master.model import (
    BatchResult,
    ItemDetail,
    ItemLookupError,
    LookupFailure,
)
from services.cart.tax import Rounding, TaxRule, TaxType
from services.common.circuit_breaker import CircuitBreaker

RULE = TaxRule("TX10", TaxType.EXTERNAL, 1000, Rounding.FLOOR)


def detail(code: str, price: int = 100) -> ItemDetail:
    return ItemDetail(code, f"Item {code}", price, "JPY", "TX10", "FOOD", True, RULE)


@dataclass
class ScriptedTransport:
    """Answers from a catalogue, or fails as told; records every call."""

    name: str
    catalogue: dict[str, ItemDetail] = field(default_factory=dict)
    failure: LookupFailure | None = None
    delay: float = 0.0
    calls: list[tuple[list[str], float]] = field(default_factory=list)

    async def batch(self, request: BatchGetItemDetailsRequest, seconds_left: float) -> BatchResult:
        item_codes = request.item_codes
        self.calls.append((list(item_codes), seconds_left))
        if self.delay:
            await asyncio.sleep(min(self.delay, seconds_left))
            if self.delay >= seconds_left:
                raise ItemLookupError(LookupFailure.UNAVAILABLE, "deadline", timed_out=True)
        if self.failure is not None:
            raise ItemLookupError(self.failure, f"{self.name} says {self.failure.value}")
        found = {c: self.catalogue[c] for c in item_codes if c in self.catalogue}
        return BatchResult(found, [c for c in item_codes if c not in found])

    def status(self) -> dict[str, object]:
        return {}

    async def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


CATALOGUE = {c: detail(c) for c in ("A", "B", "C")}


def make_client(
    *, grpc: bool = True, cache: bool = True, timeout: float = 5.0, clock: Clock | None = None
) -> tuple[ItemMasterClient, ScriptedTransport | None, ScriptedTransport, CollectorRegistry]:
    clock = clock or Clock()
    grpc_side = ScriptedTransport("grpc", dict(CATALOGUE)) if grpc else None
    http_side = ScriptedTransport("connect", dict(CATALOGUE))
    registry = CollectorRegistry()
    client = ItemMasterClient(
        grpc=grpc_side,
        http=http_side,
        timeout_seconds=timeout,
        breaker=CircuitBreaker(5.0, clock=clock),
        cache=ItemCache(ttl=60, not_found_ttl=5, max_size=100, clock=clock) if cache else None,
        metrics=LookupMetrics(registry),
    )
    return client, grpc_side, http_side, registry


def count(registry: CollectorRegistry, transport: str, outcome: str) -> float:
    return (
        registry.get_sample_value(
            "item_lookups_total", {"transport": transport, "outcome": outcome}
        )
        or 0.0
    )


async def test_http_only_when_grpc_is_off() -> None:
    client, _, http, registry = make_client(grpc=False, cache=False)
    assert (await client.get_item("T", "S", "A")).item_code == "A"
    assert len(http.calls) == 1
    assert count(registry, "connect", "ok") == 1


async def test_grpc_preferred_when_on() -> None:
    client, grpc, http, registry = make_client(cache=False)
    await client.get_item("T", "S", "A")
    assert grpc is not None
    assert (len(grpc.calls), len(http.calls)) == (1, 0)
    assert count(registry, "grpc", "ok") == 1


async def test_fallback_breaker_and_return_to_grpc(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    client, grpc, http, registry = make_client(cache=False, clock=clock)
    assert grpc is not None
    grpc.failure = LookupFailure.UNAVAILABLE
    caplog.set_level(logging.INFO)

    assert (await client.get_item("T", "S", "A")).item_code == "A"  # failed over within the call
    for _ in range(5):
        await client.get_item("T", "S", "B")
    assert len(grpc.calls) == 1  # one failed attempt per cool-down, no more
    assert len(http.calls) == 6
    assert caplog.text.count("using HTTP") == 1

    clock.now += 5.0  # cool-down over: the next call probes gRPC, which still fails
    await client.get_item("T", "S", "A")
    assert len(grpc.calls) == 2
    assert caplog.text.count("using HTTP") == 1  # still one line: the state did not change

    grpc.failure = None
    clock.now += 5.0
    await client.get_item("T", "S", "A")
    await client.get_item("T", "S", "A")
    assert len(grpc.calls) == 4
    assert "back on gRPC" in caplog.text
    assert count(registry, "grpc", "unavailable") == 2
    assert count(registry, "connect", "ok") == 7


@pytest.mark.parametrize(
    "failure",
    [LookupFailure.NOT_FOUND, LookupFailure.INVALID, LookupFailure.REJECTED, LookupFailure.FAILED],
)
async def test_answers_never_trigger_fallback(failure: LookupFailure) -> None:
    client, grpc, http, _ = make_client(cache=False)
    assert grpc is not None
    grpc.failure = failure
    with pytest.raises(ItemLookupError) as raised:
        await client.get_item("T", "S", "A")
    assert raised.value.failure is failure
    assert http.calls == []


async def test_both_down_is_unavailable() -> None:
    client, grpc, http, _ = make_client(cache=False)
    assert grpc is not None
    grpc.failure = http.failure = LookupFailure.UNAVAILABLE
    with pytest.raises(ItemLookupError) as raised:
        await client.get_item("T", "S", "A")
    assert raised.value.failure is LookupFailure.UNAVAILABLE


async def test_unknown_item_is_not_found_naming_it() -> None:
    client, *_ = make_client()
    with pytest.raises(ItemLookupError) as raised:
        await client.get_item("T", "S", "ZZZ")
    assert raised.value.failure is LookupFailure.NOT_FOUND
    assert "ZZZ" in raised.value.message


async def test_cache_hits_skip_the_call_and_expire() -> None:
    clock = Clock()
    client, grpc, _, registry = make_client(clock=clock)
    assert grpc is not None
    await client.get_item("T", "S", "A")
    await client.get_item("T", "S", "A")
    assert len(grpc.calls) == 1
    await client.get_item("T", "S2", "A")  # another store: another key
    assert len(grpc.calls) == 2
    clock.now += 61
    await client.get_item("T", "S", "A")
    assert len(grpc.calls) == 3
    assert registry.get_sample_value("item_cache_lookups_total", {"result": "hit"}) == 1


async def test_not_found_is_cached_briefly() -> None:
    clock = Clock()
    client, grpc, _, _ = make_client(clock=clock)
    assert grpc is not None
    for _ in range(3):
        with pytest.raises(ItemLookupError):
            await client.get_item("T", "S", "NEW")
    assert len(grpc.calls) == 1
    grpc.catalogue["NEW"] = detail("NEW")
    clock.now += 5
    assert (await client.get_item("T", "S", "NEW")).item_code == "NEW"


async def test_batch_uses_hits_and_one_call_for_misses() -> None:
    client, grpc, _, _ = make_client()
    assert grpc is not None
    await client.get_item("T", "S", "A")
    result = await client.get_items("T", "S", ["A", "B", "X", "C", "B"])
    assert list(result.found) == ["A", "B", "C"]
    assert result.not_found == ["X"]
    assert grpc.calls[1][0] == ["B", "X", "C"]
    assert len(grpc.calls) == 2


async def test_concurrent_misses_for_one_key_make_one_call() -> None:
    client, grpc, _, _ = make_client()
    assert grpc is not None
    grpc.delay = 0.05
    items = await asyncio.gather(*(client.get_item("T", "S", "A") for _ in range(20)))
    assert {i.item_code for i in items} == {"A"}
    assert len(grpc.calls) == 1


async def test_waiters_share_the_fetchers_failure() -> None:
    client, grpc, http, _ = make_client()
    assert grpc is not None
    grpc.delay = 0.05
    grpc.failure = http.failure = LookupFailure.UNAVAILABLE
    results = await asyncio.gather(
        *(client.get_item("T", "S", "A") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, ItemLookupError) for r in results)
    assert len(grpc.calls) == 1


async def test_cache_off_calls_every_time() -> None:
    client, grpc, _, _ = make_client(cache=False)
    assert grpc is not None
    for _ in range(3):
        await client.get_item("T", "S", "A")
    assert len(grpc.calls) == 3


async def test_shorter_caller_deadline_is_propagated() -> None:
    client, grpc, _, _ = make_client(cache=False, timeout=5.0)
    assert grpc is not None
    await client.get_item("T", "S", "A", deadline=time.monotonic() + 0.2)
    assert 0 < grpc.calls[0][1] <= 0.2
    await client.get_item("T", "S", "A")
    assert 4.9 < grpc.calls[1][1] <= 5.0


async def test_hung_master_data_fails_within_the_deadline() -> None:
    client, grpc, http, _ = make_client(cache=False, timeout=0.2)
    assert grpc is not None
    grpc.delay = http.delay = 10
    started = time.monotonic()
    with pytest.raises(ItemLookupError) as raised:
        await client.get_item("T", "S", "A")
    assert raised.value.failure is LookupFailure.UNAVAILABLE
    assert time.monotonic() - started < 0.2 + 0.1


def test_item_cache_is_bounded() -> None:
    cache = ItemCache(ttl=60, not_found_ttl=5, max_size=3, clock=Clock())
    for code in "ABCDE":
        cache.put(("T", "S", code), detail(code))
    assert len(cache) == 3
    assert cache.get(("T", "S", "A")) is None
    assert cache.get(("T", "S", "E")) == detail("E")


@pytest.mark.parametrize(
    "cache", [pytest.param(True, id="cached"), pytest.param(False, id="uncached")]
)
@pytest.mark.parametrize("seconds", [pytest.param(0.0, id="0 ms"), pytest.param(0.05, id="50 ms")])
async def test_a_callers_short_deadline_never_trips_the_breaker(
    cache: bool, seconds: float
) -> None:
    """X-Request-Timeout-Ms: 0 (or a deadline shorter than master-data takes) fails that one
    request; the breaker stays closed and every later lookup still goes over gRPC."""
    client, grpc, http, _ = make_client(cache=cache)
    assert grpc is not None
    grpc.delay = 0.2
    with pytest.raises(ItemLookupError) as raised:
        await client.get_item("T", "S", "A", deadline=time.monotonic() + seconds)
    assert raised.value.failure is LookupFailure.UNAVAILABLE
    assert http.calls == []  # no fallback: the caller had no time left for one
    grpc.delay = 0.0
    assert (await client.get_item("T", "S", "B")).item_code == "B"
    assert [codes for codes, _ in grpc.calls][-1] == ["B"]
    assert http.calls == []


async def test_the_clients_own_deadline_still_counts_against_grpc() -> None:
    client, grpc, http, _ = make_client(cache=False, timeout=0.05)
    assert grpc is not None
    grpc.delay = 0.2
    with pytest.raises(ItemLookupError):
        await client.get_item("T", "S", "A")  # gRPC used the whole GRPC_TIMEOUT: no time for HTTP
    assert (await client.get_item("T", "S", "B")).item_code == "B"
    assert [codes for codes, _ in http.calls] == [["B"]]  # the breaker opened: HTTP now


async def test_a_hurried_caller_never_fails_the_callers_it_shares_a_lookup_with() -> None:
    """40 tries: one request with a 1 ms deadline and a normal one for the same uncached item
    at the same moment. The hurried one fails alone; the normal one gets the item every time."""
    for n in range(40):
        client, grpc, _, _ = make_client()
        assert grpc is not None
        grpc.delay = 0.02
        code = "ABC"[n % 3]
        hurried = asyncio.create_task(
            client.get_item("T", "S", code, deadline=time.monotonic() + 0.001)
        )
        normal = asyncio.create_task(client.get_item("T", "S", code))
        with pytest.raises(ItemLookupError):
            await hurried
        assert (await normal).item_code == code
        assert len(grpc.calls) <= 2  # one shared fetch, gone again for the caller with time


async def test_a_shared_lookup_runs_to_its_latest_waiters_deadline() -> None:
    client, grpc, _, _ = make_client()
    assert grpc is not None
    grpc.delay = 0.01
    soon = time.monotonic() + 0.5
    first = asyncio.create_task(client.get_item("T", "S", "A", deadline=soon))
    await asyncio.sleep(0)
    second = asyncio.create_task(client.get_item("T", "S", "A", deadline=soon + 1))
    assert [(await first).item_code, (await second).item_code] == ["A", "A"]
    [(codes, seconds_left)] = grpc.calls
    assert codes == ["A"]
    assert 0 < seconds_left <= 0.5  # what the first caller had; the second joined the fetch


async def test_a_shared_lookup_is_cancelled_when_nobody_waits_any_more() -> None:
    client, grpc, _, _ = make_client()
    assert grpc is not None
    grpc.delay = 5.0
    with pytest.raises(ItemLookupError):
        await client.get_item("T", "S", "A", deadline=time.monotonic() + 0.02)
    await asyncio.sleep(0.01)
    assert client._in_flight == {}  # the fetch was cancelled, and cleared its entries
