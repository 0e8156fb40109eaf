"""Server interceptors: they nest in order around every handler, see the method, the call and
the outcome, may refuse a call; the RPC metrics interceptor counts master-data's rpcs by
transport and code."""

from __future__ import annotations

import re
import struct
from typing import Any

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.testing import ChannelFor
from starlette.testclient import TestClient

from gen.kugel.item.v1 import GetItemDetailRequest, ItemServiceStub
from services.master_data.grpc_server import build_grpc_server
from services.master_data.server import MasterData
from services.rpc.call import CallInfo
from services.rpc.grpc_connection import GrpcLimits
from services.rpc.interceptors import Proceed, RpcMethod, intercepted
from services.wire.codec import encode_binary
from services.wire.grpc import StrictProtoCodec
from tests.master_data.conftest import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}
FOUND = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0001")
MISSING = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="NOPE")


def channel_for(table: Any) -> ChannelFor:
    grpc = build_grpc_server(table, limits=GrpcLimits(max_message_bytes=4096))
    return ChannelFor(grpc.services, codec=StrictProtoCodec(4096))


class Recorder:
    def __init__(self, name: str, seen: list[str], refuse: bool = False) -> None:
        self._name, self._seen, self._refuse = name, seen, refuse

    async def intercept(self, method: RpcMethod, call: CallInfo, proceed: Proceed) -> None:
        self._seen.append(f"{self._name} before {method.service}/{method.name}")
        if self._refuse:
            raise GRPCError(Status.PERMISSION_DENIED, "not you")
        try:
            await proceed()
        except GRPCError as error:
            self._seen.append(f"{self._name} after {error.status.name}")
            raise
        self._seen.append(f"{self._name} after OK")


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def grpc_web_frame(message: Any) -> bytes:
    data = encode_binary(message)
    return struct.pack(">BI", 0, len(data)) + data


async def test_interceptors_nest_in_order_and_see_the_outcome(master_data: MasterData) -> None:
    seen: list[str] = []
    recorders = [Recorder("outer", seen), Recorder("inner", seen)]
    async with channel_for(intercepted(master_data.item_service, recorders)) as channel:
        stub = ItemServiceStub(channel)
        await stub.get_item_detail(FOUND, metadata=AUTH)
        with pytest.raises(GRPCError):
            await stub.get_item_detail(MISSING, metadata=AUTH)
    method = "kugel.item.v1.ItemService/GetItemDetail"
    assert seen == [
        f"outer before {method}", f"inner before {method}", "inner after OK", "outer after OK",
        f"outer before {method}", f"inner before {method}", "inner after NOT_FOUND",
        "outer after NOT_FOUND",
    ]  # fmt: skip


async def test_an_interceptor_may_refuse_a_call(master_data: MasterData) -> None:
    table = intercepted(master_data.item_service, [Recorder("gate", [], refuse=True)])
    async with channel_for(table) as channel:
        with pytest.raises(GRPCError) as refused:
            await ItemServiceStub(channel).get_item_detail(FOUND, metadata=AUTH)
    assert refused.value.status is Status.PERMISSION_DENIED


async def test_master_data_counts_its_rpcs_by_transport_and_code(master_data: MasterData) -> None:
    async with channel_for(master_data.item_service) as channel:
        with pytest.raises(GRPCError):  # no token: refused by the gate, counted all the same
            await ItemServiceStub(channel).get_item_detail(FOUND)
    auth = AUTH
    miss = {"tenantId": "T0001", "storeCode": "S001", "itemCode": "NOPE"}
    path = "/kugel.item.v1.ItemService/GetItemDetail"
    with TestClient(master_data.http_app) as http:
        assert http.post(path, json=miss, headers=auth).status_code == 404
        web = http.post(
            path,
            content=grpc_web_frame(FOUND),
            headers={**auth, "content-type": "application/grpc-web+proto"},
        )
        assert web.status_code == 200
        text = http.get("/metrics").text
    labels = {"grpc_service": "kugel.item.v1.ItemService", "grpc_method": "GetItemDetail",
              "grpc_type": "unary"}  # fmt: skip
    assert metric(text, "grpc_server_handled_total", **labels, grpc_code="Unauthenticated") == 1
    assert metric(text, "grpc_server_handled_total", **labels, grpc_code="NotFound",
                  transport="connect") == 1  # fmt: skip
    assert metric(text, "grpc_server_handled_total", **labels, grpc_code="OK",
                  transport="grpc-web") == 1  # fmt: skip
    assert metric(text, "grpc_server_started_total", **labels, transport="connect") == 1
    assert re.search(r'grpc_server_handling_seconds_count\{[^}]*transport="grpc-web"', text)
