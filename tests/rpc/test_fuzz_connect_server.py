"""master-data's Connect endpoint under random input (in process): a 4xx or a 200, never a 5xx,
and a well-formed Connect error; the endpoint answers a normal request afterwards."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.support.hostile import json_values, request_like

from .conftest import TOKEN

PATH = "/kugel.item.v1.ItemService/{}"
AUTH = {"authorization": f"Bearer {TOKEN}"}
GOOD = {"tenantId": "T0001", "storeCode": "S001", "itemCode": "ITEM0001"}


def check(response: Any) -> None:
    """A 200, or an error: a well-formed Connect error body, or (for a refusal at the HTTP
    level: 404, 405, 415) no body claiming a code at all."""
    assert response.status_code < 500, response.text
    if response.status_code in (404, 405, 415):
        assert not response.headers["content-type"].startswith("application/json")
    elif response.status_code != 200:
        error = response.json()
        assert isinstance(error["code"], str)
        assert isinstance(error["message"], str)


@given(
    body=st.binary(max_size=300), method=st.sampled_from(["GetItemDetail", "BatchGetItemDetails"])
)
def test_random_protobuf(http: TestClient, body: bytes, method: str) -> None:
    check(
        http.post(
            PATH.format(method), content=body, headers={**AUTH, "content-type": "application/proto"}
        )
    )


@given(
    document=st.one_of(json_values, request_like),
    method=st.sampled_from(["GetItemDetail", "BatchGetItemDetails"]),
)
def test_random_json(http: TestClient, document: Any, method: str) -> None:
    body = json.dumps(document, allow_nan=True)
    check(
        http.post(
            PATH.format(method), content=body, headers={**AUTH, "content-type": "application/json"}
        )
    )


@given(
    content_type=st.text(max_size=40),
    encoding=st.text(max_size=10),
    timeout=st.text(max_size=12),
    body=st.binary(max_size=50),
)
def test_random_headers(
    http: TestClient, content_type: str, encoding: str, timeout: str, body: bytes
) -> None:
    headers = {
        **AUTH,
        "content-type": content_type,
        "content-encoding": encoding,
        "connect-timeout-ms": timeout,
    }
    try:
        response = http.post(PATH.format("GetItemDetail"), content=body, headers=headers)
    except UnicodeEncodeError:
        return  # not sendable as an HTTP header at all
    check(response)


@given(
    query=st.dictionaries(
        st.sampled_from(["message", "encoding", "base64", "compression", "connect"]),
        st.text(max_size=40),
    )
)
def test_random_get_queries(http: TestClient, query: dict[str, str]) -> None:
    check(http.get(PATH.format("GetItemDetail"), params=query, headers=AUTH))


def test_still_serving(http: TestClient) -> None:
    assert http.post(PATH.format("GetItemDetail"), json=GOOD, headers=AUTH).status_code == 200
