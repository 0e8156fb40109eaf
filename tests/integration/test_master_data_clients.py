"""A real master-data process answers the same items to every client: our grpclib stub, Google's
grpcio, buf curl over gRPC and Connect, and aiohttp over Connect JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aiohttp
import grpc
import pytest
from grpclib.client import Channel
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse

from gen.kugel.item.v1 import GetItemDetailRequest, GetItemDetailResponse, ItemServiceStub
from tests.support.harness.processes import ServiceProcess

from .conftest import AUTH, TOKEN

BUF = str(Path(sys.executable).parent / "buf")
ROOT = Path(__file__).resolve().parents[2]
METHOD = "/kugel.item.v1.ItemService/GetItemDetail"
CODES = [
    "ITEM0005",
    "ITEM0003",
    "ITEM0050",
    "ITEM0007",
]  # store price, internal tax, inactive, exempt


def request(code: str) -> GetItemDetailRequest:
    return GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code=code)


async def via_grpclib(service: ServiceProcess) -> list[dict]:
    channel = Channel("127.0.0.1", service.ports["gRPC"])
    try:
        stub = ItemServiceStub(channel)
        return [
            (await stub.get_item_detail(request(c), metadata=AUTH, timeout=5)).to_dict()
            for c in CODES
        ]
    finally:
        channel.close()


def via_grpcio(service: ServiceProcess) -> list[dict]:
    with grpc.insecure_channel(f"127.0.0.1:{service.ports['gRPC']}") as channel:
        call = channel.unary_unary(
            METHOD, request_serializer=bytes, response_deserializer=GetItemDetailResponse.parse
        )
        return [call(request(c), timeout=5, metadata=list(AUTH.items())).to_dict() for c in CODES]


def via_buf_curl(service: ServiceProcess, protocol: str) -> list[dict]:
    if protocol == "grpc":
        target = [
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",  # no --schema: server reflection
            f"http://127.0.0.1:{service.ports['gRPC']}{METHOD}",
        ]
    else:
        target = [
            "--protocol",
            "connect",
            "--schema",
            str(ROOT / "proto"),
            f"{service.url()}{METHOD}",
        ]
    answers = []
    for code in CODES:
        body = json.dumps(request(code).to_dict())
        result = subprocess.run(
            [BUF, "curl", "-H", f"authorization: Bearer {TOKEN}", "-d", body, *target],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        answers.append(json.loads(result.stdout))
    return answers


async def via_aiohttp(service: ServiceProcess) -> list[dict]:
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        answers = []
        for code in CODES:
            async with session.post(
                f"{service.url()}{METHOD}",
                json=request(code).to_dict(),
                headers={**AUTH, "connect-timeout-ms": "5000"},
            ) as response:
                assert response.status == 200
                answers.append(await response.json())
        return answers


async def test_every_client_gets_identical_items(master_data: ServiceProcess) -> None:
    reference = await via_grpclib(master_data)
    assert [a["item"]["itemCode"] for a in reference] == CODES
    assert via_grpcio(master_data) == reference
    assert via_buf_curl(master_data, "grpc") == reference
    assert via_buf_curl(master_data, "connect") == reference
    assert await via_aiohttp(master_data) == reference


async def test_health_reports_serving(master_data: ServiceProcess) -> None:
    channel = Channel("127.0.0.1", master_data.ports["gRPC"])
    try:
        reply = await HealthStub(channel).Check(HealthCheckRequest(), timeout=5)
    finally:
        channel.close()
    assert reply.status == HealthCheckResponse.SERVING


def test_reflection_lists_the_item_service(master_data: ServiceProcess) -> None:
    result = subprocess.run(
        [
            BUF,
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            "--list-methods",
            f"http://127.0.0.1:{master_data.ports['gRPC']}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "kugel.item.v1.ItemService/GetItemDetail" in result.stdout.split()
    assert "kugel.item.v1.ItemService/BatchGetItemDetails" in result.stdout.split()


RAW_CASES = [
    pytest.param(METHOD, b"\x0a\x09T0", grpc.StatusCode.INVALID_ARGUMENT, id="truncated protobuf"),
    pytest.param(
        METHOD, bytes(range(200, 256)), grpc.StatusCode.INVALID_ARGUMENT, id="random bytes"
    ),
    pytest.param(
        METHOD, b"\x08\x05", grpc.StatusCode.INVALID_ARGUMENT, id="varint where a string is"
    ),
    pytest.param(
        METHOD,
        bytes(GetItemDetailRequest(store_code="S001", item_code="A")),
        grpc.StatusCode.INVALID_ARGUMENT,
        id="missing tenant",
    ),
    pytest.param(
        METHOD,
        bytes(request("A" * 2_000_000)),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        id="oversize message",
    ),
    pytest.param(
        "/kugel.item.v1.ItemService/Nope", b"", grpc.StatusCode.UNIMPLEMENTED, id="unknown rpc"
    ),
]


@pytest.mark.parametrize(("method", "payload", "status"), RAW_CASES)
def test_bad_grpc_input_gets_the_right_status(
    master_data: ServiceProcess, method: str, payload: bytes, status: grpc.StatusCode
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{master_data.ports['gRPC']}") as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as raised:
            call(payload, timeout=5, metadata=list(AUTH.items()))
        assert raised.value.code() == status, raised.value.details()
        lookup = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        good = lookup(bytes(request("ITEM0001")), timeout=5, metadata=list(AUTH.items()))
        assert GetItemDetailResponse.parse(good).item.item_code == "ITEM0001"


def test_wrong_token_is_unauthenticated_on_both_transports(master_data: ServiceProcess) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{master_data.ports['gRPC']}") as channel:
        call = channel.unary_unary(METHOD, request_serializer=bytes, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as raised:
            call(request("ITEM0001"), timeout=5, metadata=[("authorization", "Bearer nope")])
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    result = subprocess.run(
        [
            BUF,
            "curl",
            "--protocol",
            "connect",
            "--schema",
            str(ROOT / "proto"),
            "-d",
            json.dumps(request("ITEM0001").to_dict()),
            f"{master_data.url()}{METHOD}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert "unauthenticated" in result.stderr
    assert TOKEN not in master_data.log
