"""What a scan costs as the basket grows: one terminal scans 500 items into one cart, one request
each (item cache on and warm), and the cart's CPU (all its threads, from schedstat) and each
scan's latency are read per band of 20 lines: 1-20, 21-40, ... 481-500. Several carts, the
median of each band. `python -m loadlab.basket_growth [--carts 3]` prints the table and the
ratio of the last band to the first; `just perf` puts it in its report with a chart.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.support.harness.proc_stats import cpu_ns
from tests.support.harness.processes import (
    ServiceProcess,
    add_terminal,
    start_cart,
    start_master_data,
)

from .progress import Progress
from .scenario import SCANNABLE

LINES = 500
BAND = 20


@dataclass(frozen=True)
class Band:
    first_line: int  # 1, 21, ... 481
    cpu_ms: float  # the cart's CPU per scan, median over the carts
    latency_ms: float  # a scan's latency, median over the band's scans of every cart
    answer_kib: float  # the size of the answer at the band's last scan


@dataclass(frozen=True)
class BasketGrowth:
    bands: list[Band]
    carts: int
    view: str = "full"  # the answer asked for: the whole cart, or `summary`

    @property
    def ratio(self) -> float:
        """CPU per scan at lines 481-500 over lines 1-20."""
        return self.bands[-1].cpu_ms / self.bands[0].cpu_ms


async def _one_cart(
    session: aiohttp.ClientSession, url: str, pid: int, progress: Progress, view: str
) -> list[tuple[float, list[float], int]]:
    """(CPU ms per scan, latencies ms, answer bytes) per band of one 500-line cart."""
    async with session.post(f"{url}/carts") as made:
        cart = f"{url}/carts/{(await made.json())['cartId']}/lineItems"
    params = {"view": view} if view != "full" else {}
    bands = []
    for first in range(0, LINES, BAND):
        latencies = []
        size = 0
        before = cpu_ns(pid)
        for n in range(first, first + BAND):
            began = time.perf_counter()
            scan = [{"itemCode": SCANNABLE[n % len(SCANNABLE)]}]
            async with session.post(cart, json=scan, params=params) as r:
                body = await r.read()
                if r.status != 200:
                    raise RuntimeError(f"scan {n + 1}: HTTP {r.status} {body[:200]!r}")
            latencies.append((time.perf_counter() - began) * 1000)
            size = len(body)
        bands.append(((cpu_ns(pid) - before) / 1e6 / BAND, latencies, size))
        progress.advance()
    async with session.post(cart.removesuffix("/lineItems") + "/cancel"):
        pass
    return bands


async def _measure(cart: ServiceProcess, key: str, carts: int, view: str) -> BasketGrowth:
    url = cart.url() + "/api/v1"
    headers = {"X-API-KEY": key}
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        async with session.post(f"{url}/carts") as made:  # warm the item cache (not measured)
            warm = f"{url}/carts/{(await made.json())['cartId']}"
        for first in range(0, len(SCANNABLE), 100):
            batch = [{"itemCode": code} for code in SCANNABLE[first : first + 100]]
            async with session.post(f"{warm}/lineItems", json=batch):
                pass
        async with session.post(f"{warm}/cancel"):
            pass
        progress = Progress(carts * LINES // BAND, "basket growth", unit="bands")
        pid = cart.process.pid
        runs = [await _one_cart(session, url, pid, progress, view) for _ in range(carts)]
        progress.finish()
    bands = []
    for index in range(LINES // BAND):
        per_cart = [run[index] for run in runs]
        bands.append(
            Band(
                first_line=index * BAND + 1,
                cpu_ms=statistics.median(c for c, _, _ in per_cart),
                latency_ms=statistics.median(ms for _, lat, _ in per_cart for ms in lat),
                answer_kib=per_cart[-1][2] / 1024,
            )
        )
    return BasketGrowth(bands, carts, view)


def run(carts: int = 3, view: str = "full") -> BasketGrowth:
    with tempfile.TemporaryDirectory(prefix="kugel-basket-") as folder:
        tmp = Path(folder)
        master_data = start_master_data(tmp)
        try:
            key = add_terminal(tmp, "T0001", "S001", "BASKET01")
            cart = start_cart(tmp, master_data, TERMINAL_RATE_LIMIT="0")
            try:
                return asyncio.run(_measure(cart, key, carts, view))
            finally:
                cart.stop()
        finally:
            master_data.stop()


def table(measured: BasketGrowth) -> str:
    rows = ["| lines | cart CPU per scan (ms) | scan latency p50 (ms) | answer (KiB) |"]
    rows.append("|---|---|---|---|")
    for band in measured.bands:
        rows.append(
            f"| {band.first_line}-{band.first_line + BAND - 1} | {band.cpu_ms:.2f} | "
            f"{band.latency_ms:.2f} | {band.answer_kib:.0f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--carts", type=int, default=3, help="500-line carts (default 3)")
    parser.add_argument("--view", choices=["full", "summary"], default="full",
                        help="the answer each scan asks for (default: the whole cart)")  # fmt: skip
    arguments = parser.parse_args()
    measured = run(arguments.carts, arguments.view)
    print(table(measured))
    print(
        f"\nCPU per scan at lines 481-500 is {measured.ratio:.1f}x lines 1-20 "
        f"(median of {measured.carts} carts, view={measured.view})"
    )


if __name__ == "__main__":
    main()
