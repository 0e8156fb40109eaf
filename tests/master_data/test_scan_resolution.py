"""ResolveScan and BatchResolveScans on our own gRPC engine in process, and over Connect: each
kind of scan by hand, the refusals with their details, and both paths answering alike for every
barcode of the demo catalog."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from starlette.testclient import TestClient

from gen.kugel.item.v1 import (
    BatchResolveScansRequest,
    BatchResolveScansResponse,
    ItemServiceStub,
    Measure,
    NotFoundDetail,
    NotFoundReason,
    ResolveScanRequest,
    RoundingMethod,
    ScanProblem,
    ScanRejectedDetail,
    ScanSource,
    WeightUnit,
)
from services.common.gtin import with_check_digit
from services.master_data import demo_data
from services.master_data.grpc_server import build_grpc_server
from services.master_data.server import MasterData
from services.rpc.grpc_connection import GrpcLimits
from tests.support.wire_channel import WireChannelFor

from .conftest import TOKEN

AUTH = {"authorization": f"Bearer {TOKEN}"}
GS = "\x1d"
JAN_5 = demo_data.jan(5)  # 4569951000058: ITEM0005, 1,930 at T0001/S001


@pytest.fixture
async def channel(master_data: MasterData) -> AsyncIterator[Channel]:
    grpc = build_grpc_server(master_data.item_service, limits=GrpcLimits(max_message_bytes=1 << 20))
    async with WireChannelFor(grpc.services, GrpcLimits(max_message_bytes=1 << 20)) as channel:
        yield channel


async def resolve(channel: Channel, scan: str) -> Any:
    response = await ItemServiceStub(channel).resolve_scan(
        ResolveScanRequest(tenant_id="T0001", store_code="S001", scan=scan), metadata=AUTH,
        timeout=5,
    )  # fmt: skip
    return response.scanned


def detail(error: GRPCError) -> bytes:
    [only] = error.details
    return base64.b64decode(only["value"] + "=" * (-len(only["value"]) % 4))


async def test_a_jan_finds_its_item_priced_for_the_store(channel: Channel) -> None:
    scanned = await resolve(channel, JAN_5)
    assert (scanned.item.item_code, scanned.item.unit_price) == ("ITEM0005", 1930)
    assert (scanned.barcode, scanned.source) == ("0" + JAN_5, ScanSource.GTIN)
    assert scanned.label_price is None
    assert scanned.net_weight is None
    assert scanned.weighed_rounding is RoundingMethod.HALF_UP


async def test_the_old_label_and_a_gtin14_find_the_same_item(channel: Channel) -> None:
    assert (await resolve(channel, demo_data.old_jan(10))).item.item_code == "ITEM0010"
    assert (await resolve(channel, "0" + JAN_5)).item.item_code == "ITEM0005"
    assert (await resolve(channel, f"]E0{JAN_5}\r\n")).item.item_code == "ITEM0005"


async def test_japans_price_label(channel: Channel) -> None:
    label = with_check_digit("020000100198")  # layout JP-PRICE: item 00001, 198 yen
    scanned = await resolve(channel, label)
    assert (scanned.item.item_code, scanned.label_price) == ("DELI0001", 198)
    assert (scanned.source, scanned.layout_id) == (ScanSource.IN_STORE, "JP-PRICE")
    assert scanned.barcode == "00200001000003"


async def test_a_weight_label(channel: Channel) -> None:
    label = with_check_digit("210000201250")  # layout WEIGHT-G: item 00002, 1,250 g
    scanned = await resolve(channel, label)
    assert scanned.item.item_code == "MEAT0001"
    assert scanned.item.unit_price == 3980  # a kg
    assert scanned.net_weight == Measure(value=1250, decimals=0, unit=WeightUnit.GRAM)


@pytest.mark.parametrize("separator", ["", GS])
@pytest.mark.parametrize("identifier", ["", "]e0"])
async def test_element_strings_with_weight_and_price(
    channel: Channel, separator: str, identifier: str
) -> None:
    scan = f"{identifier}010{JAN_5}3102001250{separator}39201980"
    scanned = await resolve(channel, scan)
    assert scanned.item.item_code == "ITEM0005"
    assert scanned.source is ScanSource.ELEMENT_STRING
    assert scanned.application_identifiers == ["01", "3102", "3920"]
    assert scanned.net_weight == Measure(value=1250, decimals=2, unit=WeightUnit.KILOGRAM)
    assert scanned.label_price == 1980  # yen: no minor unit


async def test_lot_and_expiry(channel: Channel) -> None:
    scanned = await resolve(channel, f"]d2010{JAN_5}10L42{GS}17271231")
    assert (scanned.lot, scanned.expiry_date) == ("L42", "2027-12-31")


@pytest.mark.parametrize(
    ("scan", "problem"),
    [
        (JAN_5[:-1] + "9", ScanProblem.CHECK_DIGIT),
        (with_check_digit("020000100198")[:-1] + "0", ScanProblem.CHECK_DIGIT),
        (with_check_digit("210000200000"), ScanProblem.VALUE),  # a weight of nothing
        ("ABC", ScanProblem.FORMAT),
        (f"010{JAN_5}3922012345", ScanProblem.VALUE),  # 123.45 yen: no such amount
    ],
)
async def test_a_bad_scan_is_invalid_with_its_reason(
    channel: Channel, scan: str, problem: ScanProblem
) -> None:
    with pytest.raises(GRPCError) as raised:
        await resolve(channel, scan)
    assert raised.value.status is Status.INVALID_ARGUMENT
    rejected = ScanRejectedDetail.parse(detail(raised.value))
    assert (rejected.field, rejected.problem) == ("scan", problem)


async def test_a_barcode_no_item_has_is_not_found_naming_its_gtin14(channel: Channel) -> None:
    with pytest.raises(GRPCError) as raised:
        await resolve(channel, "4901234567894")
    assert raised.value.status is Status.NOT_FOUND
    found = NotFoundDetail.parse(detail(raised.value))
    assert found == NotFoundDetail(reason=NotFoundReason.BARCODE, code="04901234567894")


async def test_a_batch_answers_each_scan_in_order(channel: Channel) -> None:
    response = await ItemServiceStub(channel).batch_resolve_scans(
        BatchResolveScansRequest(tenant_id="T0001", store_code="S001",
                                 scans=[JAN_5, "4901234567894", JAN_5[:-1] + "9", JAN_5]),
        metadata=AUTH, timeout=5,
    )  # fmt: skip
    outcome = [
        (r.scan, "scanned" if r.scanned else "not_found" if r.not_found else "rejected")
        for r in response.results
    ]
    assert [o for _, o in outcome] == ["scanned", "not_found", "rejected", "scanned"]
    with pytest.raises(GRPCError) as too_many:
        await ItemServiceStub(channel).batch_resolve_scans(
            BatchResolveScansRequest(tenant_id="T0001", store_code="S001", scans=[JAN_5] * 101),
            metadata=AUTH, timeout=5,
        )  # fmt: skip
    assert too_many.value.status is Status.INVALID_ARGUMENT


async def test_grpc_and_connect_answer_every_demo_barcode_alike(
    channel: Channel, http: TestClient
) -> None:
    """Field by field, for every barcode of the demo catalog and the in-store labels: the
    original system sold at the wrong price over gRPC for months when its two paths diverged."""
    barcodes = [b.barcode for b in demo_data.records() if type(b).__name__ == "Barcode"
                and b.tenant_id == "T0001"]  # fmt: skip
    scans = [*barcodes, with_check_digit("020000100198"), with_check_digit("210000201250")]
    for at in range(0, len(scans), 100):
        request = BatchResolveScansRequest(tenant_id="T0001", store_code="S001",
                                           scans=scans[at : at + 100])  # fmt: skip
        over_grpc = await ItemServiceStub(channel).batch_resolve_scans(
            request, metadata=AUTH, timeout=5
        )
        answer = http.post(
            "/kugel.item.v1.ItemService/BatchResolveScans",
            content=bytes(request),
            headers={**AUTH, "content-type": "application/proto"},
        )
        assert answer.status_code == 200, answer.text
        over_connect = BatchResolveScansResponse.parse(answer.content)
        assert over_connect == over_grpc
        assert all(r.scanned is not None for r in over_grpc.results)
