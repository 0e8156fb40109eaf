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
from collections.abc import Callable
from pathlib import Path

from grpclib.client import Channel

from gen.kugel.item.v1 import GetItemDetailRequest, ItemServiceStub
from tests.support.harness.proc_stats import rss_kib
from tests.support.harness.processes import ServiceProcess, start_master_data

ADMIN = "import-load-admin"
REQUEST = GetItemDetailRequest(tenant_id="T0001", store_code="S001", item_code="ITEM0005")


def items_csv(rows: int) -> bytes:
    head = "tenant_id,item_code,item_name,unit_price,tax_code,category_code\n"
    body = "".join(f"T0001,LOAD{n:07d},Imported item {n},{100 + n % 900},TX10,FOOD\n"
                   for n in range(rows))  # fmt: skip
    return (head + body).encode()


async def lookups(port: int, done: Callable[[], bool]) -> list[float]:
    """One lookup at a time, each timed, until `done()`."""
    channel = Channel("127.0.0.1", port)
    stub = ItemServiceStub(channel)
    took = []
    try:
        while not done():
            started = time.perf_counter()
            await stub.get_item_detail(REQUEST, timeout=600)
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
    port = service.ports["gRPC"]
    until = time.monotonic() + seconds
    alone = await lookups(port, lambda: time.monotonic() >= until)
    print(report("lookups alone", alone))
    body = items_csv(rows)
    peak = 0
    finished = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not finished.is_set():
            peak = max(peak, rss_kib(service.process.pid))
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    looking = asyncio.create_task(lookups(port, finished.is_set))
    started = time.monotonic()
    status = await asyncio.to_thread(post_import, service, body)
    finished.set()
    await watcher
    during = await looking
    took = time.monotonic() - started
    print(f"import of {rows:,} rows ({len(body) / 1e6:.1f} MB): HTTP {status} in {took:.1f} s; "
          f"master-data RSS peak {peak / 1024:.0f} MiB")  # fmt: skip
    print(report("lookups during the import", during))
    print(f"worst lookup during / alone: {max(during) / max(alone):.1f}x")


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
