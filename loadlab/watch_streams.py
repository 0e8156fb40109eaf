"""What open WatchItemChanges streams cost master-data: its RSS with none, then with N open
(gRPC, 100 streams per HTTP/2 connection, like cart processes holding one each), every stream
confirmed open by master-data's `item_watches_open` gauge, then a change delivered to all.

`python -m loadlab.watch_streams [--streams 1000]` prints the RSS before and after and the
cost per stream.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from pathlib import Path

import aiohttp
import uvloop
from grpclib.client import Channel

from gen.kugel.item.v1 import ItemServiceStub, WatchItemChangesRequest
from loadlab.harness.proc_stats import rss_kib
from loadlab.harness.processes import ServiceProcess, start_master_data
from services.wire.grpc import StrictProtoCodec

PER_CONNECTION = 100


def _open_watches(service: ServiceProcess) -> int:
    found = re.search(r"^item_watches_open (\S+)$", service.metrics(), re.MULTILINE)
    return int(float(found.group(1))) if found else 0


async def _measure(service: ServiceProcess, streams: int) -> tuple[int, int, float]:
    before = rss_kib(service.process.pid) * 1024
    port = service.ports["gRPC"]
    channels = [
        Channel("127.0.0.1", port, codec=StrictProtoCodec(1 << 20))
        for _ in range(-(-streams // PER_CONNECTION))
    ]
    got_change = asyncio.Event()
    all_started = asyncio.Event()
    delivered = 0
    started = 0

    async def watch(channel: Channel) -> None:
        nonlocal delivered, started
        request = WatchItemChangesRequest(tenant_ids=["T0001"])
        first = True
        async for event in ItemServiceStub(channel).watch_item_changes(request):
            if first:  # the opening heartbeat: this watch has its position
                first = False
                started += 1
                if started == streams:
                    all_started.set()
            if event.change is not None:
                delivered += 1
                if delivered == streams:
                    got_change.set()

    tasks = [asyncio.create_task(watch(channels[n // PER_CONNECTION])) for n in range(streams)]
    try:
        deadline = time.monotonic() + 120
        while _open_watches(service) < streams and time.monotonic() < deadline:  # noqa: ASYNC110 - polls another process
            await asyncio.sleep(0.2)
        opened = _open_watches(service)
        await asyncio.wait_for(all_started.wait(), 60)
        after = rss_kib(service.process.pid) * 1024
        written = time.monotonic()
        async with (
            aiohttp.ClientSession() as session,
            session.put(
                service.url() + "/admin/v1/tenants/T0001/stores/S001/prices/ITEM0001",
                json={"unitPrice": 1234},
                headers={"authorization": "Bearer admin"},
            ) as response,
        ):
            response.raise_for_status()
        await asyncio.wait_for(got_change.wait(), 60)
        fan_out = time.monotonic() - written
        if opened < streams:
            raise RuntimeError(f"only {opened} of {streams} streams opened")
        return before, after, fan_out
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels:
            channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        service = start_master_data(Path(folder), ADMIN_TOKEN="admin")  # noqa: S106 - a test one
        try:
            before, after, fan_out = uvloop.run(_measure(service, arguments.streams))
        finally:
            service.stop()
    per_stream = (after - before) / arguments.streams
    print(f"master-data RSS: {before / 2**20:.1f} MiB idle, {after / 2**20:.1f} MiB with "
          f"{arguments.streams} streams open: {per_stream / 1024:.1f} KiB a stream")  # fmt: skip
    print(f"one change reached all {arguments.streams} streams in {fan_out * 1000:.0f} ms")


if __name__ == "__main__":
    main()
