"""No input is a 500: every route of the cart's OpenAPI document, with hostile path segments and
query values (integers past int64, a 4,301-digit number, NUL and other control characters,
bytes that are not UTF-8, 10 KB of text), answered below 500 by a real cart on a real database
(SQLite here, PostgreSQL in the suite's PostgreSQL pass). A hypothesis search, bounded."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

HOSTILE = st.one_of(
    st.sampled_from([
        "9223372036854775808", "-9223372036854775809", "9" * 4301, "%00", "a%00b", "%0d%0a",
        "%ed%a0%80", "%ff%fe", "0", "-1", "1e999", "NaN", "x" * 10_000, "%2e%2e", "%20", "",
    ]),
    st.text(min_size=1, max_size=40).map(lambda t: urllib.parse.quote(t, safe="")),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)  # fmt: skip
QUERY_NAMES = ["receiptNo", "page", "limit", "businessDate", "type", "terminalId", "view"]


@pytest.fixture(scope="module")
def cart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, str]]:
    tmp = Path(tmp_path_factory.mktemp("no500"))
    master_data = start_master_data(tmp)
    key = add_terminal(tmp, "T0001", "S001", "R01")
    service = start_cart(tmp, master_data, TERMINAL_RATE_LIMIT="0")
    yield service, key
    service.stop()
    master_data.stop()


def routes(service: ServiceProcess) -> list[tuple[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", service.ports["HTTP"], timeout=10)
    connection.request("GET", "/openapi.json")
    document = json.loads(connection.getresponse().read())
    connection.close()
    return [(method.upper(), path) for path, item in document["paths"].items()
            for method in item if method in ("get", "post", "put", "patch", "delete")]  # fmt: skip


def test_every_route_answers_hostile_paths_and_queries_below_500(
    cart: tuple[ServiceProcess, str],
) -> None:
    service, key = cart
    table = routes(service)
    assert table, "the document lists no route"
    connection = http.client.HTTPConnection("127.0.0.1", service.ports["HTTP"], timeout=10)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(table), segment=HOSTILE, query=HOSTILE,
           name=st.sampled_from(QUERY_NAMES))  # fmt: skip
    def probe(route: tuple[str, str], segment: str, query: str, name: str) -> None:
        method, template = route
        path = re.sub(r"\{[^}]+\}", lambda _: segment, template)
        url = f"{path}?{name}={query}"
        body = None if method == "GET" else b"[]"
        headers = {"X-API-KEY": key, "content-type": "application/json"}
        connection.request(method, url, body=body, headers=headers)  # the path as it is
        answer = connection.getresponse()
        text = answer.read()[:300]
        assert answer.status < 500, (method, url[:200], answer.status, text)

    try:
        probe()
    finally:
        connection.close()
