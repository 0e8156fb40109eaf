"""Lookups while master files are imported: a gRPC lookup loop against master-data, its latency
alone and while the admin API imports a CSV of `--rows` items, side by side; and master-data's
RSS at its peak during the import.

    python -m loadlab.import_load [--rows 25000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from grpclib.client import Channel

from gen.kugel.item.v1 import GetItemDetailRequest, ItemServiceStub

from .harness.proc_stats import rss_kib
from .harness.processes import ServiceProcess, start_master_data

ADMIN = "import-load-admin"
REQUEST = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")


def items_csv(rows: int) -> bytes:
    head = "tenant_id,item_code,item_name,unit_price,tax_code,category_code\n"
    body = "".join(f"T0001,LOAD{n:07d},Imported item {n},{100 + n % 900},TX10,FOOD\n"
                   for n in range(rows))  # fmt: skip
    return (head + body).encode()


async def lookups(port: int, until: float) -> list[float]:
    channel = Channel("127.0.0.1", port)
    stub = ItemServiceStub(channel)
    took = []
    try:
        while time.monotonic() < until:
            started = time.perf_counter()
            await stub.get_item_detail(REQUEST, timeout=30)
            took.append(time.perf_counter() - started)
            await asyncio.sleep(0.005)
    finally:
        channel.close()
    return took


def post_import(service: ServiceProcess, body: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310 - our own loopback URL
        service.url() + "/admin/v1/import?format=csv&kind=items", data=body, method="POST",
        headers={"authorization": f"Bearer {ADMIN}", "content-type": "text/csv"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=600) as answer:  # noqa: S310
        return int(answer.status)


def report(label: str, took: list[float]) -> str:
    ordered = sorted(took)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    return (f"{label}: {len(took)} lookups, p50 {statistics.median(took) * 1e3:.1f} ms, "
            f"p99 {p99 * 1e3:.1f} ms, worst {ordered[-1] * 1e3:.1f} ms")  # fmt: skip


async def measure(service: ServiceProcess, rows: int, seconds: float) -> None:
    alone = await lookups(service.ports["gRPC"], time.monotonic() + seconds)
    print(report("lookups alone", alone))
    body = items_csv(rows)
    peak = 0
    took_during: list[float] = []
    finished = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not finished.is_set():
            peak = max(peak, rss_kib(service.process.pid))
            await asyncio.sleep(0.05)

    async def look() -> None:
        channel = Channel("127.0.0.1", service.ports["gRPC"])
        stub = ItemServiceStub(channel)
        try:
            while not finished.is_set():
                started = time.perf_counter()
                await stub.get_item_detail(REQUEST, timeout=600)
                took_during.append(time.perf_counter() - started)
                await asyncio.sleep(0.005)
        finally:
            channel.close()

    tasks = [asyncio.create_task(watch()), asyncio.create_task(look())]
    started = time.monotonic()
    status = await asyncio.to_thread(post_import, service, body)
    finished.set()
    await asyncio.gather(*tasks)
    took = time.monotonic() - started
    print(f"import of {rows:,} rows ({len(body) / 1e6:.1f} MB): HTTP {status} in {took:.1f} s; "
          f"master-data RSS peak {peak / 1024:.0f} MiB")  # fmt: skip
    print(report("lookups during the import", took_during))
    print(f"worst lookup during / alone: {max(took_during) / max(alone):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=25_000)
    parser.add_argument("--seconds", type=float, default=5.0, help="of lookups alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        service = start_master_data(Path(tmp), ADMIN_TOKEN=ADMIN, MAX_REQUEST_BYTES=str(1 << 30))
        try:
            asyncio.run(measure(service, args.rows, args.seconds))
        finally:
            service.stop()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
