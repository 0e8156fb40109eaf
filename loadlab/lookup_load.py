"""Closed-loop lookup load straight at master-data: our grpclib stub, Google's grpcio client,
and Connect over aiohttp, each with N calls in flight. The perf report's anchor and scaling rows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import grpc
import uvloop
from grpclib.client import Channel

from gen.kugel.item.v1 import GetItemDetailRequest, ItemServiceStub
from services.wire.codec import encode_binary, encode_json
from services.wire.grpc import StrictProtoCodec

from .stats import percentile

REQUEST = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")
METHOD = "/kugel.item.v1.ItemService/GetItemDetail"


@dataclass(frozen=True)
class LoadResult:
    client: str
    calls: int
    seconds: float
    p50: float
    p99: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds


async def _closed_loop(
    client: str, call: Callable[[], Awaitable[object]], total: int, in_flight: int
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    remaining = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for _ in remaining:
            started = time.perf_counter()
            try:
                await call()
            except Exception:
                errors += 1
            latencies.append(time.perf_counter() - started)

    for _ in range(min(200, total)):  # warm up: connections open, caches filled
        await call()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    seconds = time.perf_counter() - started
    return LoadResult(
        client, total, seconds, percentile(latencies, 0.5), percentile(latencies, 0.99), errors
    )


def grpclib_load(host: str, port: int, total: int, in_flight: int) -> LoadResult:
    """Our client: the generated stub on one grpclib channel, on uvloop as the cart runs it."""

    async def run() -> LoadResult:
        channel = Channel(host, port, codec=StrictProtoCodec(1 << 22))
        stub = ItemServiceStub(channel)
        try:
            return await _closed_loop(
                "grpclib + betterproto2 stub",
                lambda: stub.get_item_detail(REQUEST, timeout=5),
                total,
                in_flight,
            )
        finally:
            channel.close()

    return uvloop.run(run())


def grpcio_load(host: str, port: int, total: int, in_flight: int) -> LoadResult:
    """The reference: Google's grpcio aio client (C core) on its default asyncio loop."""
    body = encode_binary(REQUEST)

    async def run() -> LoadResult:
        async with grpc.aio.insecure_channel(f"{host}:{port}") as channel:
            call = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
            return await _closed_loop(
                "grpcio aio (C core)", lambda: call(body, timeout=5), total, in_flight
            )

    return asyncio.run(run())


def connect_load(base_url: str, total: int, in_flight: int, connections: int) -> LoadResult:
    """Connect JSON over aiohttp with up to `connections` connections (several let the kernel
    spread them over master-data workers)."""
    body = encode_json(REQUEST)

    async def run() -> LoadResult:
        connector = aiohttp.TCPConnector(limit=connections, force_close=False)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=5)
        ) as session:

            async def call() -> None:
                async with session.post(
                    base_url + METHOD, data=body, headers={"content-type": "application/json"}
                ) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"HTTP {response.status}")

            return await _closed_loop("Connect JSON over aiohttp", call, total, in_flight)

    return uvloop.run(run())
