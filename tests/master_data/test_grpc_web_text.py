"""gRPC-Web's text mode (`application/grpc-web-text`, what Google's grpc-web JavaScript client
sends by default): the request and every reply chunk in base64, unary and server streaming,
errors in the trailers frame as in binary mode."""

from __future__ import annotations

import base64

from starlette.testclient import TestClient

from gen.kugel.item.v1 import (
    GetItemDetailRequest,
    GetItemDetailResponse,
    WatchItemChangesRequest,
    WatchItemChangesResponse,
)

from .conftest import TOKEN

TEXT = "application/grpc-web-text"
AUTH = {"authorization": f"Bearer {TOKEN}", "content-type": TEXT, "x-grpc-web": "1"}


def frames(data: bytes) -> list[tuple[int, bytes]]:
    found, pos = [], 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 1 : pos + 5], "big")
        found.append((data[pos], data[pos + 5 : pos + 5 + length]))
        pos += 5 + length
    return found


def text_request(message: bytes) -> bytes:
    return base64.b64encode(b"\x00" + len(message).to_bytes(4, "big") + message)


def test_a_lookup_in_text_mode(http: TestClient) -> None:
    request = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")
    answer = http.post(
        "/kugel.item.v1.ItemService/GetItemDetail",
        content=text_request(bytes(request)),
        headers=AUTH,
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(TEXT)
    (flags, message), (end, trailers) = frames(base64.b64decode(answer.content))
    assert flags == 0
    assert GetItemDetailResponse.parse(message).item.unit_price == 1930
    assert end == 0x80
    assert trailers.startswith(b"grpc-status: 0\r\n")


def test_an_error_in_text_mode_is_a_trailers_frame_in_base64(http: TestClient) -> None:
    request = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="NOPE")
    answer = http.post(
        "/kugel.item.v1.ItemService/GetItemDetail",
        content=text_request(bytes(request)),
        headers=AUTH,
    )
    [(end, trailers)] = frames(base64.b64decode(answer.content))
    assert end == 0x80
    assert b"grpc-status: 5\r\n" in trailers


def test_a_body_that_is_not_base64_is_invalid_argument(http: TestClient) -> None:
    answer = http.post(
        "/kugel.item.v1.ItemService/GetItemDetail", content=b"AAAA*not base64", headers=AUTH
    )
    [(_, trailers)] = frames(base64.b64decode(answer.content))
    assert b"grpc-status: 3\r\n" in trailers


def test_a_chunked_text_request_of_padded_parts_is_read_whole(http: TestClient) -> None:
    request = bytes(
        GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")
    )
    framed = b"\x00" + len(request).to_bytes(4, "big") + request
    body = base64.b64encode(framed[:4]) + base64.b64encode(framed[4:])  # padding in the middle
    answer = http.post("/kugel.item.v1.ItemService/GetItemDetail", content=body, headers=AUTH)
    (_, message), _ = frames(base64.b64decode(answer.content))
    assert GetItemDetailResponse.parse(message).item.item_code == "ITEM0005"


def test_a_watch_in_text_mode_streams_base64_chunks(http: TestClient) -> None:
    request = WatchItemChangesRequest(tenant_ids=["T0001"])
    with http.stream(
        "POST",
        "/kugel.item.v1.ItemService/WatchItemChanges",
        content=text_request(bytes(request)),
        headers=AUTH,
    ) as answer:
        chunk = next(answer.iter_raw())
    flags, message = frames(base64.b64decode(chunk))[0]
    assert flags == 0
    assert isinstance(WatchItemChangesResponse.parse(message), WatchItemChangesResponse)
