"""One scan, one trace across both processes. A terminal's scan carries its W3C `traceparent`;
the item misses the cart's cache; both real processes export their spans with the SDK's own
console exporter (OTEL_TRACES_EXPORTER=console, a JSON object a line in their logs). Under the
terminal's trace id: the cart's server span, its item lookup, a client span per rpc attempt,
master-data's server span continuing the caller's context, its read-cache miss and storage
query. Over gRPC, and over the HTTP fallback with gRPC down (the failed attempt a span too, the
fallback an event, the cart's warning log line carrying the trace id). Without the variables,
no span at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from loadlab.harness.processes import ServiceProcess, add_terminal, start_cart, start_master_data

from .conftest import TOKEN

TRACE = "0af7651916cd43dd8448eb211c80319c"
TERMINAL_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE}-{TERMINAL_SPAN}-01"
METHOD = "kugel.item.v1.ItemService/BatchGetItemDetails"
CONSOLE = {"OTEL_TRACES_EXPORTER": "console"}


def spans(service: ServiceProcess) -> list[dict[str, Any]]:
    """The spans of the terminal's trace the service exported, ids without their 0x."""
    found = []
    for line in service.log.splitlines():
        if not line.startswith("{"):
            continue
        span = json.loads(line)
        context = span["context"]
        if context["trace_id"] == f"0x{TRACE}":
            span["id"] = context["span_id"].removeprefix("0x")
            span["parent"] = (span.get("parent_id") or "").removeprefix("0x")
            found.append(span)
    return found


def one(found: list[dict[str, Any]], name: str, **attributes: object) -> dict[str, Any]:
    matches = [s for s in found if s["name"] == name and
               all(s["attributes"].get(k) == v for k, v in attributes.items())]  # fmt: skip
    assert len(matches) == 1, (name, attributes, [(s["name"], s["attributes"]) for s in found])
    return matches[0]


async def scan(cart: ServiceProcess, key: str, traceparent: str | None) -> None:
    async with aiohttp.ClientSession(headers={"X-API-KEY": key}) as http:
        async with http.post(cart.url() + "/api/v1/carts") as made:
            cart_id = (await made.json())["cartId"]
        headers = {"traceparent": traceparent} if traceparent else {}
        async with http.post(
            f"{cart.url()}/api/v1/carts/{cart_id}/lineItems",
            json=[{"itemCode": "ITEM0001"}],
            headers=headers,
        ) as scanned:
            assert scanned.status == 200


@pytest.mark.parametrize(
    "grpc_up", [pytest.param(True, id="grpc"), pytest.param(False, id="http fallback")]
)
async def test_a_scan_that_misses_the_cache_is_one_trace_across_both_processes(
    tmp_path: Path, grpc_up: bool
) -> None:
    master_data = start_master_data(tmp_path, MASTER_DATA_TOKEN=TOKEN, OTEL_SERVICE_NAME="md",
                                    **CONSOLE)  # fmt: skip
    down = {} if grpc_up else {"MASTER_DATA_GRPC_URL": "127.0.0.1:9"}  # nothing listens there
    cart = start_cart(tmp_path, master_data, MASTER_DATA_TOKEN=TOKEN, **down, **CONSOLE)
    try:
        await scan(cart, add_terminal(tmp_path, "T0001", "S001", "T01"), TRACEPARENT)
    finally:
        assert cart.stop() == 0, cart.log  # a clean stop exports what is batched
        assert master_data.stop() == 0, master_data.log

    ours = spans(cart)
    request = one(ours, "POST /api/v1/carts/{cart_id}/lineItems")
    assert request["kind"] == "SpanKind.SERVER"
    assert request["parent"] == TERMINAL_SPAN  # the terminal's trace, continued
    assert request["attributes"]["http.response.status_code"] == 200
    assert request["resource"]["attributes"]["service.name"] == "cart"
    lookup = one(ours, "item lookup")
    assert lookup["parent"] == request["id"]
    assert lookup["attributes"]["item.cache"] == "miss"
    assert lookup["attributes"]["master_data.grpc_breaker"] == "closed"
    answered = one(ours, METHOD, **{"rpc.response.status_code": "OK"})
    assert answered["kind"] == "SpanKind.CLIENT"
    assert answered["parent"] == lookup["id"]
    assert answered["attributes"]["rpc.system.name"] == ("grpc" if grpc_up else "connectrpc")
    assert answered["attributes"]["rpc.method"] == METHOD
    if not grpc_up:
        failed = one(ours, METHOD, **{"rpc.response.status_code": "UNAVAILABLE"})
        assert failed["parent"] == lookup["id"]
        assert failed["status"]["status_code"] == "ERROR"
        assert [e["name"] for e in lookup["events"]] == ["fallback to HTTP"]
        warned = [line for line in cart.log.splitlines() if "using HTTP" in line]
        assert warned, cart.log
        assert f"trace_id={TRACE}" in warned[0]

    theirs = spans(master_data)
    served = one(theirs, METHOD)
    assert served["kind"] == "SpanKind.SERVER"
    assert served["parent"] == answered["id"]  # the caller's context, carried in its headers
    assert served["resource"]["attributes"]["service.name"] == "md"
    assert served["attributes"]["rpc.response.status_code"] == "OK"
    miss = one(theirs, "item read-cache miss")
    assert miss["parent"] == served["id"]
    query = one(theirs, "priced_items sqlite")
    assert query["parent"] == miss["id"]
    assert query["attributes"]["db.system.name"] == "sqlite"


async def test_without_the_variables_nothing_is_traced(tmp_path: Path) -> None:
    master_data = start_master_data(tmp_path, MASTER_DATA_TOKEN=TOKEN)
    cart = start_cart(tmp_path, master_data, MASTER_DATA_TOKEN=TOKEN)
    try:
        await scan(cart, add_terminal(tmp_path, "T0001", "S001", "T01"), TRACEPARENT)
    finally:
        assert cart.stop() == 0, cart.log
        assert master_data.stop() == 0, master_data.log
    assert "tracing=off" in cart.log
    assert "tracing=off" in master_data.log
    assert not spans(cart)
    assert not spans(master_data)
