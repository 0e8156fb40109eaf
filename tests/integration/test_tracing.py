"""One scan, one trace across both processes. A terminal's scan carries its W3C `traceparent`;
the item misses the cart's cache; both real processes export their spans with the SDK's own
console exporter (OTEL_TRACES_EXPORTER=console, a JSON object a line in their logs). Under the
terminal's trace id: the cart's server span, its item lookup, a client span per rpc attempt,
master-data's server span continuing the caller's context, its read-cache miss and storage
query. Over gRPC, and over the HTTP fallback with gRPC down (the failed attempt a span too, the
fallback an event, the cart's warning log line carrying the trace id). Without the variables,
no span at all."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.harness.postgres import SERVER_URL_ENV
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

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


def master_data_on_postgres() -> bool:
    """The suite's PostgreSQL pass (`just test-postgres`) runs the services on PostgreSQL."""
    return SERVER_URL_ENV in os.environ


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
    engine = "postgresql" if master_data_on_postgres() else "sqlite"
    query = one(theirs, f"priced_items {engine}")
    assert query["parent"] == miss["id"]
    assert query["attributes"]["db.system.name"] == engine


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


WRITER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_a_price_change_and_its_eviction_in_the_cart_are_linked(tmp_path: Path) -> None:
    """The admin write's span (in the writer's trace) and the cart's `item change applied`
    (a trace of its own) are tied by a span link, the lag on it."""
    admin = {"authorization": "Bearer admin-secret"}
    master_data = start_master_data(tmp_path, MASTER_DATA_TOKEN=TOKEN, ADMIN_TOKEN="admin-secret",
                                    **CONSOLE)  # fmt: skip
    cart = start_cart(tmp_path, master_data, MASTER_DATA_TOKEN=TOKEN, **CONSOLE)
    try:
        await scan(cart, add_terminal(tmp_path, "T0001", "S001", "T01"), None)  # watched now
        async with (
            aiohttp.ClientSession(headers=admin) as http,
            http.put(
                master_data.url() + "/admin/v1/tenants/T0001/stores/S001/prices/ITEM0001",
                json={"unitPrice": 1234},
                headers={"traceparent": f"00-{WRITER_TRACE}-00f067aa0ba902b7-01"},
            ) as written,
        ):
            assert written.status == 200, await written.text()
        for _ in range(100):  # the change reaches the cart's watch
            if "item change applied" in cart.log or cart.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        assert cart.stop() == 0, cart.log
        assert master_data.stop() == 0, master_data.log
    writes = [s for s in all_spans(master_data) if s["name"].startswith("PUT /admin/v1/")]
    assert len(writes) == 1
    assert writes[0]["context"]["trace_id"] == f"0x{WRITER_TRACE}"
    applied = [s for s in all_spans(cart) if s["name"] == "item change applied"]
    assert applied, cart.log
    linked = [link["context"] for s in applied for link in s["links"]]
    assert {"trace_id": f"0x{WRITER_TRACE}", "span_id": writes[0]["context"]["span_id"],
            "trace_state": "[]"} in linked  # fmt: skip
    assert all(s["attributes"]["item.change.lag_seconds"] >= 0 for s in applied)


def all_spans(service: ServiceProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in service.log.splitlines() if line.startswith("{")]
