"""Token scopes (MASTER_DATA_TOKENS): a token for some tenants may ask about those only, on
gRPC and Connect, lookups and watches alike; the single MASTER_DATA_TOKEN keeps every tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from pydantic import SecretStr
from starlette.testclient import TestClient

from gen.kugel.item.v1 import GetItemDetailRequest, ItemServiceStub, WatchItemChangesRequest
from services.master_data.grpc_server import build_grpc_server
from services.master_data.server import MasterData, assemble
from services.master_data.settings import MasterDataSettings
from services.master_data.sqlite_repository import SqliteItemRepository
from services.rpc.grpc_connection import GrpcLimits
from tests.support.wire_channel import WireChannelFor

from .conftest import TOKEN

GET = "/kugel.item.v1.ItemService/GetItemDetail"


@pytest.fixture
def scoped(repository: SqliteItemRepository, settings: MasterDataSettings) -> MasterData:
    tokens = SecretStr("drug-token=T0002;all-token=*")
    return assemble(repository, settings.model_copy(update={"master_data_tokens": tokens}))


@pytest.fixture
async def stub(scoped: MasterData) -> AsyncIterator[ItemServiceStub]:
    grpc = build_grpc_server(scoped.item_service, limits=GrpcLimits(max_message_bytes=4096))
    async with WireChannelFor(grpc.services, GrpcLimits(max_message_bytes=4096)) as channel:
        yield ItemServiceStub(channel)


@pytest.fixture
def connect(scoped: MasterData) -> Iterator[TestClient]:
    with TestClient(scoped.http_app) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def lookup(tenant: str) -> GetItemDetailRequest:
    return GetItemDetailRequest(tenant_id=tenant, store_code="S001", item_code="ITEM0005")


@pytest.mark.parametrize(
    ("token", "tenant", "status"),
    [
        pytest.param("drug-token", "T0002", None, id="own tenant"),
        pytest.param("drug-token", "T0001", Status.PERMISSION_DENIED, id="another tenant"),
        pytest.param("all-token", "T0001", None, id="a token for every tenant"),
        pytest.param(TOKEN, "T0001", None, id="the single token"),
        pytest.param("nobody", "T0002", Status.UNAUTHENTICATED, id="not a token"),
    ],
)
async def test_a_lookup_outside_the_tokens_tenants_is_denied(
    stub: ItemServiceStub, token: str, tenant: str, status: Status | None
) -> None:
    call = stub.get_item_detail(lookup(tenant), metadata=bearer(token), timeout=5)
    if status is None:
        assert (await call).item is not None
        return
    with pytest.raises(GRPCError) as error:
        await call
    assert error.value.status is status


async def test_a_watch_outside_the_tokens_tenants_is_denied(stub: ItemServiceStub) -> None:
    request = WatchItemChangesRequest(tenant_ids=["T0002", "T0001"])
    with pytest.raises(GRPCError) as error:
        async for _ in stub.watch_item_changes(request, metadata=bearer("drug-token"), timeout=5):
            pass
    assert error.value.status is Status.PERMISSION_DENIED


def test_connect_denies_the_same(connect: TestClient) -> None:
    body = {"tenantId": "T0001", "storeCode": "S001", "itemCode": "ITEM0005"}
    denied = connect.post(GET, json=body, headers=bearer("drug-token"))
    assert (denied.status_code, denied.json()["code"]) == (403, "permission_denied")
    allowed = connect.post(GET, json={**body, "tenantId": "T0002"}, headers=bearer("drug-token"))
    assert allowed.status_code == 200


@pytest.mark.parametrize("value", ["token", "=T0001", "token=", "a=T1;b"])
def test_a_malformed_scope_setting_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="TOKEN=TENANT"):
        MasterDataSettings(master_data_tokens=SecretStr(value))
