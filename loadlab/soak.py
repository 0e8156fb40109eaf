"""`just soak`: 40 terminals checking out against both services for 10 minutes; passes when no
request failed and neither service's memory (RSS) grew by 10 % or more after the warm-up."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import uvloop

from tests.support.harness.proc_stats import rss_kib
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

from .checkout import Recorder, run_checkouts
from .progress import Progress

MAX_GROWTH = 0.10


async def soak(
    cart: ServiceProcess, master_data: ServiceProcess, key: str, args: argparse.Namespace
) -> tuple[Recorder, dict[str, list[int]]]:
    services = {"cart": cart, "master-data": master_data}
    samples: dict[str, list[int]] = {name: [] for name in services}
    progress = Progress(0, f"soak, {args.terminals} terminals", unit="carts")
    load = asyncio.create_task(
        run_checkouts(
            cart.url() + "/api/v1",
            key,
            seconds=args.minutes * 60,
            terminals=args.terminals,
            on_cart_done=lambda ok: progress.tick(errors=0 if ok else 1),
        )
    )
    started = time.monotonic()
    while not load.done():
        await asyncio.wait({load}, timeout=args.sample_seconds)
        if time.monotonic() - started >= args.warmup_seconds:  # caches and pools are full by now
            for name, service in services.items():
                samples[name].append(rss_kib(service.process.pid))
    progress.finish()
    return await load, samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--terminals", type=int, default=40)
    parser.add_argument("--warmup-seconds", type=float, default=60.0)
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kugel-soak-") as directory:
        tmp = Path(directory)
        master_data = start_master_data(tmp)
        key = add_terminal(tmp, "T0001", "S001", "SOAK01")
        cart = start_cart(
            tmp, master_data, USE_GRPC="true", TERMINAL_RATE_LIMIT="0", MAX_OPEN_CARTS="0"
        )
        try:
            recorder, samples = uvloop.run(soak(cart, master_data, key, args))
        finally:
            cart.stop()
            master_data.stop()
    failed = recorder.error_count > 0
    requests = sum(len(v) for v in recorder.latencies.values())
    print(f"\n{recorder.carts_done} checkouts, {requests} requests, {recorder.error_count} errors")
    for what, count in recorder.errors.items():
        print(f"  {count} x {what}")
    for name, values in samples.items():
        if len(values) < 2:
            print(f"{name}: too short a run to judge memory")
            failed = True
            continue
        growth = (values[-1] - values[0]) / values[0]
        first, last, peak = (v / 1024 for v in (values[0], values[-1], max(values)))
        print(f"{name}: RSS {first:.1f} -> {last:.1f} MiB ({growth:+.1%}), peak {peak:.1f} MiB")
        failed |= growth >= MAX_GROWTH
    print("soak FAILED" if failed else "soak passed")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
