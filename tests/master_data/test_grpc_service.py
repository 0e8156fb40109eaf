"""ItemService on our own gRPC engine, in process (WireChannelFor: WireServer, its dispatch,
streams and guards): answers, statuses, auth, limits."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    GetItemDetailRequest,
    ItemServiceStub,
    NotFoundDetail,
    NotFoundReason,
)
from services.master_data.grpc_server import build_grpc_server
from services.master_data.server import MasterData
from services.rpc.grpc_connection import GrpcLimits
from tests.support.wire_channel import WireChannelFor

from .conftest import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def channel(master_data: MasterData) -> AsyncIterator[Channel]:
    grpc = build_grpc_server(master_data.item_service, limits=GrpcLimits(max_message_bytes=4096))
    async with WireChannelFor(grpc.services, GrpcLimits(max_message_bytes=4096)) as channel:
        yield channel


def request(code: str = "ITEM0005") -> GetItemDetailRequest:
    return GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code=code)


async def test_lookup_returns_store_price(channel: Channel) -> None:
    response = await ItemServiceStub(channel).get_item_detail(request(), metadata=AUTH, timeout=5)
    assert response.item is not None
    assert response.item.item_code == "ITEM0005"
    assert response.item.store_price_applied is True


async def test_batch_lists_missing_codes(channel: Channel) -> None:
    response = await ItemServiceStub(channel).batch_get_item_details(
        BatchGetItemDetailsRequest(
            tenant_id="T0001", store_code="S001", item_codes=["ITEM0001", "NOPE"]
        ),
        metadata=AUTH,
        timeout=5,
    )
    assert [i.item_code for i in response.items] == ["ITEM0001"]
    assert response.not_found_item_codes == ["NOPE"]


@pytest.mark.parametrize(
    ("message", "metadata", "status", "detail"),
    [
        pytest.param(request("NOPE"), AUTH, Status.NOT_FOUND, "NOPE", id="unknown item"),
        pytest.param(
            GetItemDetailRequest(store_code="S001", item_code="A"),
            AUTH,
            Status.INVALID_ARGUMENT,
            "tenant_id",
            id="missing tenant",
        ),
        pytest.param(
            request("bad code"), AUTH, Status.INVALID_ARGUMENT, "item_code", id="bad code"
        ),
        pytest.param(request(), {}, Status.UNAUTHENTICATED, "token", id="no token"),
        pytest.param(
            request(),
            {"authorization": "Bearer wrong"},
            Status.UNAUTHENTICATED,
            "token",
            id="wrong token",
        ),
        pytest.param(
            request(),
            {"authorization": TOKEN},
            Status.UNAUTHENTICATED,
            "token",
            id="token without Bearer",
        ),
        pytest.param(
            request("A" * 5000), AUTH, Status.RESOURCE_EXHAUSTED, "limit", id="oversize message"
        ),
    ],
)
async def test_bad_calls_get_the_right_status(
    channel: Channel,
    message: GetItemDetailRequest,
    metadata: dict[str, str],
    status: Status,
    detail: str,
) -> None:
    with pytest.raises(GRPCError) as raised:
        await ItemServiceStub(channel).get_item_detail(message, metadata=metadata, timeout=5)
    assert raised.value.status == status
    assert detail in (raised.value.message or "")


async def test_unexpected_error_is_internal_with_generic_message(
    channel: Channel, master_data: MasterData, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("secret database detail")

    master_data.catalog._repository.priced_items = broken  # type: ignore[method-assign]
    with pytest.raises(GRPCError) as raised:
        await ItemServiceStub(channel).get_item_detail(
            request("ITEM0009"), metadata=AUTH, timeout=5
        )
    assert raised.value.status == Status.INTERNAL
    assert raised.value.message == "internal error"
    assert "secret database detail" in caplog.text


async def test_draining_server_refuses_new_calls(channel: Channel, master_data: MasterData) -> None:
    assert await master_data.gate.drain(0.1) is True
    with pytest.raises(GRPCError) as raised:
        await ItemServiceStub(channel).get_item_detail(request(), metadata=AUTH, timeout=5)
    assert raised.value.status == Status.UNAVAILABLE


async def test_health_reports_serving(channel: Channel) -> None:
    reply = await HealthStub(channel).Check(HealthCheckRequest(), timeout=5)
    assert reply.status == HealthCheckResponse.SERVING


async def test_an_unexpected_error_is_internal_with_its_stack_trace_in_the_log(
    channel: Channel,
    master_data: MasterData,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Our own NotImplementedError is a server fault, never blamed on the client's frame."""

    async def broken(*_: object) -> None:
        raise NotImplementedError("a field shape the codec lacks")

    monkeypatch.setattr(master_data.catalog, "get_items", broken)
    with pytest.raises(GRPCError) as raised:
        await ItemServiceStub(channel).get_item_detail(request(), metadata=AUTH, timeout=5)
    assert (raised.value.status, raised.value.message) == (Status.INTERNAL, "internal error")
    [record] = [r for r in caplog.records if r.message.startswith("unexpected error in")]
    assert record.exc_info is not None
    assert "malformed" not in caplog.text


@pytest.mark.parametrize(
    ("tenant", "store", "code", "reason", "subject"),
    [
        pytest.param("T9999", "S001", "ITEM0001", NotFoundReason.TENANT, "T9999", id="tenant"),
        pytest.param("T0001", "S999", "ITEM0001", NotFoundReason.STORE, "S999", id="store"),
        pytest.param("T0001", "S001", "NOPE", NotFoundReason.ITEM, "NOPE", id="item"),
    ],
)
async def test_a_not_found_says_what_was_not_found(
    master_data: MasterData, tenant: str, store: str, code: str, reason: NotFoundReason,
    subject: str,
) -> None:  # fmt: skip
    grpc = build_grpc_server(master_data.item_service, limits=GrpcLimits(max_message_bytes=4096))
    async with WireChannelFor(grpc.services, GrpcLimits(max_message_bytes=4096)) as channel:
        with pytest.raises(GRPCError) as raised:
            await ItemServiceStub(channel).get_item_detail(
                GetItemDetailRequest(tenant_id=tenant, store_code=store, item_code=code),
                metadata=AUTH,
                timeout=5,
            )
    assert raised.value.status is Status.NOT_FOUND
    [detail] = raised.value.details
    assert detail["type"] == "kugel.item.v1.NotFoundDetail"
    value = base64.b64decode(detail["value"] + "=" * (-len(detail["value"]) % 4))
    assert NotFoundDetail.parse(value) == NotFoundDetail(reason=reason, code=subject)
