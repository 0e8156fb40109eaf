"""The cart's ItemMasterClient against real master-data processes over real sockets."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.cart.item_master import ItemLookupError, ItemMasterClient, LookupFailure
from services.cart.item_master_wiring import build_item_master_client
from services.cart.settings import CartSettings
from services.master_data import demo_data
from tests.support.harness.processes import ServiceProcess, start_master_data
from tests.support.sockets import accepted_connections, free_port

from .conftest import TOKEN

ALL_CODES = [demo_data.item_code(n) for n in range(1, demo_data.ITEMS_PER_TENANT + 1)]


def client_for(
    service: ServiceProcess, *, use_grpc: bool, grpc_port: int | None = None, **extra: object
) -> tuple[ItemMasterClient, CollectorRegistry]:
    registry = CollectorRegistry()
    http_port = service.ports["HTTP"]
    grpc_port = grpc_port or service.ports.get("gRPC") or free_port()
    settings = CartSettings(
        use_grpc=use_grpc,
        master_data_grpc_url=f"127.0.0.1:{grpc_port}",
        master_data_http_url=f"http://127.0.0.1:{http_port}",
        **{"master_data_token": SecretStr(TOKEN), **extra},  # type: ignore[arg-type]
    )
    return build_item_master_client(settings, registry), registry


def lookups(registry: CollectorRegistry, transport: str, outcome: str = "ok") -> float:
    return (
        registry.get_sample_value(
            "item_lookups_total", {"transport": transport, "outcome": outcome}
        )
        or 0.0
    )


@pytest.fixture
async def both_modes(
    master_data: ServiceProcess,
) -> AsyncIterator[tuple[ItemMasterClient, ItemMasterClient]]:
    over_http, _ = client_for(master_data, use_grpc=False, use_item_cache=False)
    over_grpc, registry = client_for(master_data, use_grpc=True, use_item_cache=False)
    yield over_http, over_grpc
    await over_http.close()
    await over_grpc.close()
    assert lookups(registry, "connect") == 0  # the gRPC client never needed its fallback


async def test_both_modes_return_identical_items(
    both_modes: tuple[ItemMasterClient, ItemMasterClient],
) -> None:
    over_http, over_grpc = both_modes
    for tenant, store in demo_data.STORES:
        for start in range(0, len(ALL_CODES), 100):
            codes = [*ALL_CODES[start : start + 100]]
            via_http = await over_http.get_items(tenant, store, codes)
            via_grpc = await over_grpc.get_items(tenant, store, codes)
            assert via_http == via_grpc
            assert len(via_http.found) == len(codes)
    unknown = await over_grpc.get_items("T0001", "S001", ["ITEM0001", "NOPE"])
    assert unknown.not_found == ["NOPE"]


@pytest.mark.parametrize(
    ("tenant", "store", "code", "failure"),
    [
        pytest.param("T0001", "S001", "NOPE", LookupFailure.NOT_FOUND, id="unknown item"),
        pytest.param(
            "T0001", "S999", "ITEM0001", LookupFailure.STORE_NOT_FOUND, id="unknown store"
        ),
        pytest.param("T0001", "S001", "bad code", LookupFailure.INVALID, id="malformed code"),
    ],
)
async def test_errors_are_the_same_on_both_transports(
    both_modes: tuple[ItemMasterClient, ItemMasterClient],
    tenant: str,
    store: str,
    code: str,
    failure: LookupFailure,
) -> None:
    for client in both_modes:
        with pytest.raises(ItemLookupError) as raised:
            await client.get_item(tenant, store, code)
        assert raised.value.failure is failure


async def test_wrong_token_is_rejected_on_both_transports(
    master_data: ServiceProcess, caplog: pytest.LogCaptureFixture
) -> None:
    for use_grpc in (False, True):
        client, _ = client_for(master_data, use_grpc=use_grpc, master_data_token=SecretStr("wrong"))
        try:
            with pytest.raises(ItemLookupError) as raised:
                await client.get_item("T0001", "S001", "ITEM0001")
        finally:
            await client.close()
        assert raised.value.failure is LookupFailure.REJECTED
    assert "MASTER_DATA_TOKEN" in caplog.text
    assert "wrong" not in caplog.text


@pytest.fixture
def services(tmp_path: Path) -> Iterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    for service in started:
        service.stop(signal.SIGKILL if service.process.poll() is None else signal.SIGTERM)


async def test_fallback_to_http_and_back_to_grpc(
    tmp_path: Path, services: list[ServiceProcess]
) -> None:
    http_only = start_master_data(tmp_path, USE_GRPC="false", MASTER_DATA_TOKEN=TOKEN)
    services.append(http_only)
    grpc_port = free_port()  # nothing listens here yet
    client, registry = client_for(
        http_only,
        use_grpc=True,
        grpc_port=grpc_port,
        use_item_cache=False,
        grpc_breaker_cooldown_seconds=0.5,
        grpc_timeout=1.0,
    )
    try:
        for _ in range(20):
            assert (await client.get_item("T0001", "S001", "ITEM0001")).item_code == "ITEM0001"
        assert lookups(registry, "grpc", "unavailable") == 1  # one failed attempt per cool-down
        assert lookups(registry, "connect") == 20

        # gRPC comes back: a second master-data on the same database serves it.
        services.append(
            start_master_data(tmp_path, GRPC_PORT=str(grpc_port), MASTER_DATA_TOKEN=TOKEN)
        )
        await asyncio.sleep(0.5)
        for _ in range(10):
            await client.get_item("T0001", "S001", "ITEM0002")
        assert lookups(registry, "grpc") == 10

        # Both sides hung (SIGSTOP): a lookup fails as unavailable within GRPC_TIMEOUT + 100 ms.
        for service in services:
            service.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(ItemLookupError) as raised:
                await client.get_item("T0001", "S001", "ITEM0003")
            elapsed = time.monotonic() - started
        finally:
            for service in services:
                service.process.send_signal(signal.SIGCONT)
        assert raised.value.failure is LookupFailure.UNAVAILABLE
        assert elapsed <= 1.0 + 0.1

        # Both sides gone: refused at once, still the same error.
        for service in services:
            assert service.stop() == 0
        with pytest.raises(ItemLookupError) as raised:
            await client.get_item("T0001", "S001", "ITEM0004")
        assert raised.value.failure is LookupFailure.UNAVAILABLE
    finally:
        await client.close()


@pytest.mark.parametrize(
    "use_grpc", [pytest.param(False, id="http"), pytest.param(True, id="grpc")]
)
async def test_one_connection_pool_for_all_requests(tmp_path: Path, use_grpc: bool) -> None:
    service = start_master_data(tmp_path, MASTER_DATA_TOKEN=TOKEN)
    client, registry = client_for(service, use_grpc=use_grpc, use_item_cache=False)
    port = service.ports["gRPC" if use_grpc else "HTTP"]
    codes = iter(range(1000))

    async def terminal() -> None:
        for n in codes:  # 50 terminals share the 1,000 lookups
            await client.get_item("T0001", "S001", demo_data.item_code(n % 300 + 1))

    try:
        await asyncio.gather(*(terminal() for _ in range(50)))
        assert lookups(registry, "grpc" if use_grpc else "connect") == 1000
        assert accepted_connections(port) <= 2
    finally:
        await client.close()
        assert service.stop() == 0
    logging.getLogger(__name__).info("accepted connections: %d", accepted_connections(port))
