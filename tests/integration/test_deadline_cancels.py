"""Google's grpcio client whose every call outlives its deadline (master-data slower than it):
it cancels each call with RST_STREAM at its deadline, 16 in flight, for 3 s. That is no rapid
reset: 0 calls UNAVAILABLE, 0 flood-guard closes (the rule as first written closed its
connection over and over: 139 calls UNAVAILABLE in 5 s)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc

from gen.kugel.item.v1 import GetItemDetailRequest, GetItemDetailResponse
from tests.support.harness.processes import start_master_data

REQUEST = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")


async def timed_out_calls(port: int, seconds: float) -> dict[str, int]:
    codes: dict[str, int] = {}
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary("/kugel.item.v1.ItemService/GetItemDetail",
                                   request_serializer=bytes,
                                   response_deserializer=GetItemDetailResponse.parse)  # fmt: skip
        ends = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < ends:
                try:
                    await call(REQUEST, timeout=0.02)
                    codes["OK"] = codes.get("OK", 0) + 1
                except grpc.aio.AioRpcError as error:
                    codes[error.code().name] = codes.get(error.code().name, 0) + 1

        await asyncio.gather(*(worker() for _ in range(16)))
    return codes


def test_a_client_cancelling_at_its_deadlines_is_never_turned_away(tmp_path: Path) -> None:
    service = start_master_data(tmp_path, DEBUG_RPC_DELAY_MS="50")
    try:
        codes = asyncio.run(timed_out_calls(service.ports["gRPC"], 3.0))
    finally:
        service.stop()
    assert codes.get("DEADLINE_EXCEEDED", 0) > 100, codes
    assert "UNAVAILABLE" not in codes, codes
    assert "flood guard" not in service.log
