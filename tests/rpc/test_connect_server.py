"""ItemService over the Connect protocol, in process (Starlette TestClient)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from gen.kugel.item.v1 import GetItemDetailRequest, GetItemDetailResponse
from services.master_data.server import MasterData
from services.wire.connect import Code, error_from_reply

from .conftest import TOKEN

PATH = "/kugel.item.v1.ItemService/GetItemDetail"
BATCH = "/kugel.item.v1.ItemService/BatchGetItemDetails"
AUTH = {"authorization": f"Bearer {TOKEN}"}
JSON_AUTH = {**AUTH, "content-type": "application/json"}
PROTO_AUTH = {**AUTH, "content-type": "application/proto"}
GOOD = {"tenantId": "T0001", "storeCode": "S001", "itemCode": "ITEM0005"}


def test_json_lookup(http: TestClient) -> None:
    response = http.post(PATH, json=GOOD, headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    item = response.json()["item"]
    assert item["itemCode"] == "ITEM0005"
    assert item["unitPrice"] == "1930"  # int64: a JSON string in the proto3 mapping
    assert item["taxRule"]["taxType"] == "TAX_TYPE_EXTERNAL"


def test_proto_lookup_matches_json(http: TestClient) -> None:
    body = bytes(GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005"))
    response = http.post(PATH, content=body, headers=PROTO_AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/proto"
    from_proto = GetItemDetailResponse.parse(response.content).to_dict()
    assert from_proto == http.post(PATH, json=GOOD, headers=AUTH).json()


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"encoding": "json", "message": json.dumps(GOOD)}, id="json"),
        pytest.param(
            {
                "encoding": "json",
                "base64": "1",
                "message": base64.urlsafe_b64encode(json.dumps(GOOD).encode()).decode().rstrip("="),
            },
            id="json base64 unpadded",
        ),
        pytest.param(
            {
                "encoding": "proto",
                "base64": "1",
                "message": base64.urlsafe_b64encode(
                    bytes(
                        GetItemDetailRequest(
                            tenant_id="T0001", store_code="S001", item_code="ITEM0005"
                        )
                    )
                ).decode(),
            },
            id="proto base64",
        ),
    ],
)
def test_get_for_no_side_effects_rpcs(http: TestClient, query: dict[str, str]) -> None:
    response = http.get(PATH, params=query, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.content
    if query["encoding"] == "proto":
        assert GetItemDetailResponse.parse(body).item.item_code == "ITEM0005"  # type: ignore[union-attr]
    else:
        assert response.json()["item"]["itemCode"] == "ITEM0005"


def test_gzip_request_body(http: TestClient) -> None:
    body = gzip.compress(json.dumps(GOOD).encode())
    response = http.post(PATH, content=body, headers={**JSON_AUTH, "content-encoding": "gzip"})
    assert response.status_code == 200, response.text


def test_batch(http: TestClient) -> None:
    response = http.post(
        BATCH,
        json={"tenantId": "T0001", "storeCode": "S001", "itemCodes": ["ITEM0001", "NOPE"]},
        headers=AUTH,
    )
    assert response.status_code == 200
    assert response.json()["notFoundItemCodes"] == ["NOPE"]


CASES: list[Any] = [
    pytest.param(
        "POST",
        PATH,
        JSON_AUTH,
        json.dumps({**GOOD, "itemCode": "NOPE"}),
        404,
        "not_found",
        id="unknown item",
    ),
    pytest.param(
        "POST",
        PATH,
        JSON_AUTH,
        json.dumps({"storeCode": "S001", "itemCode": "A"}),
        400,
        "invalid_argument",
        id="missing tenant",
    ),
    pytest.param(
        "POST", PATH, JSON_AUTH, '{"tenantId": ', 400, "invalid_argument", id="invalid json"
    ),
    pytest.param(
        "POST", PATH, JSON_AUTH, '{"tenantId": 5}', 400, "invalid_argument", id="wrong field type"
    ),
    pytest.param("POST", PATH, JSON_AUTH, "[1, 2]", 400, "invalid_argument", id="json array"),
    pytest.param(
        "POST", PATH, PROTO_AUTH, b"\x0a\x09T0", 400, "invalid_argument", id="truncated protobuf"
    ),
    pytest.param(
        "POST", PATH, PROTO_AUTH, b"\x0b\x0c", 400, "invalid_argument", id="malformed protobuf"
    ),
    pytest.param(
        "POST", PATH, PROTO_AUTH, bytes(range(200, 256)), 400, "invalid_argument", id="random bytes"
    ),
    pytest.param(
        "POST",
        PATH,
        {**AUTH, "content-type": "text/plain"},
        "x",
        415,
        None,
        id="wrong content type",
    ),
    pytest.param("POST", PATH, {**AUTH}, "x", 415, None, id="no content type"),
    pytest.param(
        "POST",
        PATH,
        JSON_AUTH,
        json.dumps({**GOOD, "itemCode": "A" * 5000}),
        429,
        "resource_exhausted",
        id="oversize body",
    ),
    pytest.param(
        "POST",
        PATH,
        {**JSON_AUTH, "content-encoding": "br"},
        json.dumps(GOOD),
        501,
        "unimplemented",
        id="unknown compression",
    ),
    pytest.param(
        "POST",
        PATH,
        {**JSON_AUTH, "content-encoding": "gzip"},
        "not gzip",
        400,
        "invalid_argument",
        id="bad gzip",
    ),
    pytest.param(
        "POST",
        PATH,
        {**JSON_AUTH, "connect-timeout-ms": "soon"},
        json.dumps(GOOD),
        400,
        "invalid_argument",
        id="bad timeout header",
    ),
    pytest.param(
        "POST",
        PATH,
        {**JSON_AUTH, "connect-protocol-version": "2"},
        json.dumps(GOOD),
        400,
        "invalid_argument",
        id="bad protocol version",
    ),
    pytest.param(
        "POST",
        "/kugel.item.v1.ItemService/Nope",
        JSON_AUTH,
        "{}",
        404,
        None,
        id="unknown rpc",
    ),
    pytest.param(
        "POST",
        "/kugel.item.v9.Other/GetItemDetail",
        JSON_AUTH,
        "{}",
        404,
        None,
        id="unknown service",
    ),
    pytest.param("PUT", PATH, JSON_AUTH, json.dumps(GOOD), 405, None, id="wrong http method"),
    pytest.param(
        "POST",
        PATH,
        {"content-type": "application/json"},
        json.dumps(GOOD),
        401,
        "unauthenticated",
        id="no token",
    ),
    pytest.param(
        "POST",
        PATH,
        {"content-type": "application/json", "authorization": "Bearer x"},
        json.dumps(GOOD),
        401,
        "unauthenticated",
        id="wrong token",
    ),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "code"), CASES)
def test_bad_requests_get_connect_errors(
    http: TestClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str | bytes,
    status: int,
    code: str | None,
) -> None:
    """`code` None: a refusal at the HTTP level, with no Connect error body claiming a code;
    a client derives the code from the status (the spec's "HTTP to Error Code" table)."""
    response = http.request(method, path, content=body, headers=headers)
    assert response.status_code == status, response.text
    if code is None:
        assert not response.headers["content-type"].startswith("application/json")
        derived = error_from_reply(status, response.content).code
        assert derived == (Code.UNIMPLEMENTED if status == 404 else Code.UNKNOWN)
        if status == 405:
            assert response.headers["allow"] == "GET, POST"
        if status == 415:
            assert response.headers["accept-post"] == "application/json, application/proto"
    else:
        assert response.headers["content-type"] == "application/json"
        error = response.json()
        assert error["code"] == code
        assert error["message"]
    assert http.post(PATH, json=GOOD, headers=AUTH).status_code == 200  # still serving


@pytest.mark.parametrize(
    ("query", "status"),
    [
        pytest.param({"message": json.dumps(GOOD)}, 400, id="no encoding"),
        pytest.param({"encoding": "xml", "message": "{}"}, 400, id="unknown encoding"),
        pytest.param({"encoding": "proto", "base64": "1", "message": "!!!"}, 400, id="bad base64"),
    ],
)
def test_bad_get_requests(http: TestClient, query: dict[str, str], status: int) -> None:
    response = http.get(PATH, params=query, headers=AUTH)
    assert response.status_code == status
    assert response.json()["code"] == "invalid_argument"


def test_expired_deadline_is_deadline_exceeded(http: TestClient, master_data: MasterData) -> None:
    async def slow(*_: object) -> None:
        await asyncio.sleep(1)

    master_data.catalog._repository.store_context = slow  # type: ignore[method-assign]
    response = http.post(
        PATH, json={**GOOD, "tenantId": "T0002"}, headers={**AUTH, "connect-timeout-ms": "50"}
    )
    assert response.status_code == 504
    assert response.json()["code"] == "deadline_exceeded"


def test_probes(http: TestClient) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    assert http.get("/readyz").json() == {"status": "ready", "database": "ok"}


def test_the_token_is_checked_before_the_body_is_read(http: TestClient) -> None:
    """No token and an unreadable body: 401, not the body's 400 (nothing was decoded)."""
    response = http.post(PATH, content=b"{" * 100_000, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
