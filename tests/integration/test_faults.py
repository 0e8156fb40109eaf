"""Faults under load, against real processes: master-data killed, hung or slow; cart killed."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp

from loadlab.checkout import run_checkouts
from tests.support.harness.proc_stats import rss_kib
from tests.support.harness.processes import add_terminal, start_cart, start_master_data
from tests.support.sockets import free_port

TIMEOUT = aiohttp.ClientTimeout(total=15)


async def add_item(
    session: aiohttp.ClientSession, api: str, cart_id: str, code: str = "ITEM0001"
) -> tuple[int, float]:
    started = time.monotonic()
    async with session.post(
        f"{api}/carts/{cart_id}/lineItems", json=[{"itemCode": code}]
    ) as response:
        await response.read()
        return response.status, time.monotonic() - started


async def new_cart(session: aiohttp.ClientSession, api: str) -> str:
    async with session.post(f"{api}/carts") as response:
        return str((await response.json())["cartId"])


async def test_master_data_killed_during_load(tmp_path: Path) -> None:
    """gRPC side SIGKILLed and restarted under 40 terminals: no failed request while HTTP is up;
    both sides down: 503 within GRPC_TIMEOUT + 100 ms; back within 2 s of master-data's return."""
    grpc_port, http_port = free_port(), free_port()
    http_side = start_master_data(tmp_path, USE_GRPC="false", HTTP_PORT=str(http_port))
    grpc_side = start_master_data(tmp_path, GRPC_PORT=str(grpc_port))
    key = add_terminal(tmp_path, "T0001", "S001", "R01")
    cart = start_cart(
        tmp_path,
        http_side,
        USE_GRPC="true",
        MASTER_DATA_GRPC_URL=f"127.0.0.1:{grpc_port}",
        USE_ITEM_CACHE="false",  # every scan asks master-data
        GRPC_TIMEOUT="1.0",
        GRPC_BREAKER_COOLDOWN_SECONDS="0.5",
        TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0",
    )
    api = cart.url() + "/api/v1"
    try:
        load = asyncio.create_task(run_checkouts(api, key, seconds=6, terminals=40, cancel=True))
        await asyncio.sleep(1.5)
        grpc_side.stop(signal.SIGKILL)
        await asyncio.sleep(1.5)
        grpc_side = start_master_data(tmp_path, GRPC_PORT=str(grpc_port))
        recorder = await load
        assert recorder.error_count == 0, recorder.errors
        assert len(recorder.latencies["add item"]) > 500
        assert "gRPC to master-data unavailable" in cart.log
        assert "back on gRPC" in cart.log

        grpc_side.stop(signal.SIGKILL)
        http_side.stop(signal.SIGKILL)
        async with aiohttp.ClientSession(timeout=TIMEOUT, headers={"X-API-KEY": key}) as session:
            cart_id = await new_cart(session, api)
            status, took = await add_item(session, api, cart_id)
            assert status == 503
            assert took <= 1.0 + 0.1

            http_side = start_master_data(tmp_path, USE_GRPC="false", HTTP_PORT=str(http_port))
            back_at = time.monotonic()
            while (await add_item(session, api, cart_id))[0] != 200:
                assert time.monotonic() - back_at < 2.0, "cart did not recover within 2 s"
                await asyncio.sleep(0.05)
    finally:
        for service in (cart, grpc_side, http_side):
            service.stop(signal.SIGKILL)


async def test_slow_master_data_ends_in_deadline_without_pile_up(tmp_path: Path) -> None:
    """master-data slower than GRPC_TIMEOUT: every lookup ends as 503 at the deadline, the calls
    are cancelled on both sides (none left running in master-data), the cart's memory stays flat."""
    master_data = start_master_data(tmp_path, DEBUG_RPC_DELAY_MS="3000")
    key = add_terminal(tmp_path, "T0001", "S001", "R01")
    cart = start_cart(
        tmp_path,
        master_data,
        USE_GRPC="true",
        USE_ITEM_CACHE="false",
        GRPC_TIMEOUT="0.3",
        TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0",
    )
    api = cart.url() + "/api/v1"
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT, headers={"X-API-KEY": key}) as session:
            carts = [await new_cart(session, api) for _ in range(40)]

            async def wave() -> list[tuple[int, float]]:
                return await asyncio.gather(*(add_item(session, api, c) for c in carts))

            await wave()
            rss_before = rss_kib(cart.process.pid)
            results = [r for _ in range(10) for r in await wave()]
            rss_after = rss_kib(cart.process.pid)
            # A call the cart sent in the last ms of its deadline ends by that deadline in
            # master-data too; give it that long before the drain below counts what is left.
            await asyncio.sleep(0.3 + 0.1)
        assert {status for status, _ in results} == {503}
        assert max(took for _, took in results) < 0.3 + 1.0  # the deadline, plus queueing for 40
        assert rss_after < rss_before * 1.10
    finally:
        cart.stop()
        assert master_data.stop() == 0
    # Every lookup was cancelled at its deadline: master-data had none left to drain.
    assert "draining 0 calls in flight" in master_data.log


async def test_cart_killed_mid_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    master_data = start_master_data(tmp_path)
    key = add_terminal(tmp_path, "T0001", "S001", "R01")
    cart = start_cart(tmp_path, master_data, TERMINAL_RATE_LIMIT="0", MAX_OPEN_CARTS="0")
    api = cart.url() + "/api/v1"
    acknowledged: dict[str, list[str]] = {}

    async def terminal(session: aiohttp.ClientSession, n: int) -> None:
        try:
            while True:
                cart_id = await new_cart(session, api)
                acknowledged[cart_id] = []
                for i in range(1, 21):
                    code = f"ITEM{(n * 7 + i) % 49 + 1:04d}"
                    status, _ = await add_item(session, api, cart_id, code)
                    if status != 200:
                        return
                    acknowledged[cart_id].append(code)
        except (aiohttp.ClientError, TimeoutError):
            return  # the cart process is gone

    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT, headers={"X-API-KEY": key}) as session:
            tills = [asyncio.create_task(terminal(session, n)) for n in range(20)]
            await asyncio.sleep(2.5)
            cart.stop(signal.SIGKILL)
            await asyncio.gather(*tills)
            cart = start_cart(tmp_path, master_data, TERMINAL_RATE_LIMIT="0", MAX_OPEN_CARTS="0")
            api = cart.url() + "/api/v1"
            assert sum(len(codes) for codes in acknowledged.values()) > 50
            for cart_id, codes in acknowledged.items():
                async with session.get(f"{api}/carts/{cart_id}") as response:
                    assert response.status == 200
                    stored = await response.json()
                lines = [line["itemCode"] for line in stored["lineItems"]]
                # Everything acknowledged is there, in order; at most the one write that was
                # saved when the process died, before its answer went out, comes on top.
                assert lines[: len(codes)] == codes
                assert len(lines) - len(codes) in (0, 1)
                assert stored["version"] == len(lines) + 1
                assert [line["lineNo"] for line in stored["lineItems"]] == list(
                    range(1, len(lines) + 1)
                )
    finally:
        cart.stop()
        master_data.stop()
