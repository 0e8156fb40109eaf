"""Every master-data replica in use. One cart process, its uncached lookups over gRPC to one
DNS name that gives three replicas (the cart reads a hosts file of the test's as its
/etc/hosts, in a mount namespace of its own: each replica listens on its own loopback address,
all on one port): each replica answers its share, counted by the replicas' own RPC metrics; one
SIGKILLed costs no scan and sends none over HTTP; a fourth added to the name answers lookups
within a re-resolve period. And connection ageing: an ageing master-data's GOAWAY lets a call
in flight finish, and the next call reconnects, for our channel and for Google's grpcio."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import grpc
import pytest

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchGetItemDetailsResponse,
    ItemServiceStub,
)
from services.rpc.grpc_client import InterceptedChannel
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    cart_env,
    start,
    start_master_data,
)
from tests.support.harness.replicas import ReplicaPool, can_name_replicas

from .conftest import AUTH, TOKEN

pytestmark = pytest.mark.skipif(
    not can_name_replicas(),
    reason="a hosts file of the test's own needs a mount namespace (root, unshare)",
)
RESOLVE_SECONDS = 1.0
METHOD = 'grpc_method="BatchGetItemDetails"'


def handled(replica: ServiceProcess, transport: str) -> float:
    """BatchGetItemDetails calls the replica answered over `transport`, by its own metrics."""
    total = 0.0
    for line in replica.metrics().splitlines():
        ours = f'transport="{transport}"' in line and METHOD in line
        if line.startswith("grpc_server_handled_total{") and ours:
            total += float(line.rsplit(" ", 1)[1])
    return total


def lookups_over(cart: ServiceProcess, transport: str) -> float:
    total = 0.0
    for line in cart.metrics().splitlines():
        if line.startswith("item_lookups_total{") and f'transport="{transport}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[ReplicaPool]:
    replicas = ReplicaPool(tmp_path, MASTER_DATA_TOKEN=TOKEN)
    try:
        yield replicas
    finally:
        replicas.stop()


async def scan(http: aiohttp.ClientSession, url: str, count: int) -> list[int]:
    """`count` scans into one new cart, one request each; their statuses."""
    async with http.post(url + "/api/v1/carts") as made:
        cart_id = (await made.json())["cartId"]
    statuses = []
    for n in range(count):
        item = {"itemCode": f"ITEM{n % 39 + 1:04d}"}
        async with http.post(f"{url}/api/v1/carts/{cart_id}/lineItems", json=[item]) as done:
            statuses.append(done.status)
    return statuses


async def test_lookups_spread_over_every_replica_survive_a_kill_and_reach_a_new_one(
    tmp_path: Path, pool: ReplicaPool
) -> None:
    for _ in range(3):
        pool.add()
    settings = cart_env(
        tmp_path,
        pool.replicas[0],
        MASTER_DATA_GRPC_URL=pool.target,
        MASTER_DATA_RESOLVE_SECONDS=str(RESOLVE_SECONDS),
        MASTER_DATA_TOKEN=TOKEN,
        USE_ITEM_CACHE="false",  # every scan a lookup
        TERMINAL_RATE_LIMIT="0",
    )
    cart = start(["cart", "serve"], settings, tmp_path / "cart.log", "cart ready",
                 hosts_file=pool.hosts_file)  # fmt: skip
    key = add_terminal(tmp_path, "T0001", "S001", "T01")
    try:
        async with aiohttp.ClientSession(headers={"X-API-KEY": key}) as http:
            assert set(await scan(http, cart.url(), 90)) == {200}
            shares = [handled(r, "grpc") for r in pool.replicas]
            assert sum(shares) >= 90
            for share in shares:  # each within 25 % of a third
                assert abs(share / sum(shares) - 1 / 3) <= 0.25 / 3, shares

            pool.replicas[1].stop(signal.SIGKILL)
            assert set(await scan(http, cart.url(), 60)) == {200}
            assert lookups_over(cart, "connect") == 0  # no HTTP fallback
            alive = [pool.replicas[0], pool.replicas[2]]
            assert sum(handled(r, "grpc") for r in alive) >= sum(shares) - shares[1] + 60

            fourth = pool.add()
            found = time.monotonic()
            while handled(fourth, "grpc") == 0:
                assert time.monotonic() - found < 3 * RESOLVE_SECONDS + 2, cart.log
                assert set(await scan(http, cart.url(), 5)) == {200}
            assert time.monotonic() - found <= 3 * RESOLVE_SECONDS + 2
            assert lookups_over(cart, "connect") == 0
            assert all(handled(r, "connect") == 0 for r in (*alive, fourth))
    finally:
        assert cart.stop() == 0, cart.log


BATCH = BatchGetItemDetailsRequest(tenant_id="T0001", store_code="S001", item_codes=["ITEM0001"])
PATH = "/kugel.item.v1.ItemService/BatchGetItemDetails"


@pytest.fixture(scope="module")
def ageing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """master-data that ages its connections out after about a second, every call a second
    long, so a call is in flight when the GOAWAY comes."""
    service = start_master_data(
        tmp_path_factory.mktemp("ageing"),
        MASTER_DATA_TOKEN=TOKEN,
        MAX_CONNECTION_AGE_SECONDS="0.5",
        MAX_CONNECTION_AGE_GRACE_SECONDS="5",
        DEBUG_RPC_DELAY_MS="1000",
    )
    yield service
    assert service.stop() == 0, service.log


async def test_an_aged_connections_call_finishes_and_the_next_reconnects(
    ageing: ServiceProcess,
) -> None:
    channel = InterceptedChannel("127.0.0.1", ageing.ports["gRPC"])
    stub = ItemServiceStub(channel)
    try:
        first = await stub.batch_get_item_details(BATCH, metadata=AUTH, timeout=10)
        connection = channel._protocol
        second = await stub.batch_get_item_details(BATCH, metadata=AUTH, timeout=10)
    finally:
        channel.close()
    assert first.items[0].item_code == second.items[0].item_code == "ITEM0001"
    assert channel._protocol is not connection  # the GOAWAY moved the next call on


def test_grpcio_rides_out_the_ageing_too(ageing: ServiceProcess) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{ageing.ports['gRPC']}") as channel:
        call = channel.unary_unary(
            PATH,
            request_serializer=bytes,
            response_deserializer=BatchGetItemDetailsResponse.parse,
        )
        answers = [call(BATCH, metadata=list(AUTH.items()), timeout=10) for _ in range(3)]
    assert [a.items[0].item_code for a in answers] == ["ITEM0001"] * 3


async def test_many_calls_across_the_ageing_all_answer(ageing: ServiceProcess) -> None:
    channel = InterceptedChannel("127.0.0.1", ageing.ports["gRPC"])
    stub = ItemServiceStub(channel)
    try:
        for _ in range(3):  # each batch of calls meets a GOAWAY somewhere
            replies = await asyncio.gather(
                *(stub.batch_get_item_details(BATCH, metadata=AUTH, timeout=10) for _ in range(8))
            )
            assert len(replies) == 8
            await asyncio.sleep(0.3)
    finally:
        channel.close()
