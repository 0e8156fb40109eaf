"""`just demo`: both services on free ports with fresh databases and the demo data, a few hundred
realistic checkouts with USE_GRPC=false and again with USE_GRPC=true, and a side-by-side table.

Every checkout: create a cart, scan 20 items one request each, subtotal, pay cash, bill. The item
cache is off by default so that every scan asks master-data and the transports can be compared.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import uvloop

from loadlab.harness.processes import ServiceProcess, add_terminal, start_cart, start_master_data

from .checkout import Recorder, run_checkouts
from .progress import Progress
from .stats import (
    Histogram,
    histogram_delta,
    histogram_quantile,
    lookup_histograms,
    percentile,
)


@dataclass
class ModeResult:
    mode: str
    recorder: Recorder
    lookups: dict[str, Histogram]  # transport -> lookup latency histogram of this run


def run_mode(
    tmp: Path, master_data: ServiceProcess, api_key: str, use_grpc: bool, args: argparse.Namespace
) -> ModeResult:
    mode = "USE_GRPC=true" if use_grpc else "USE_GRPC=false"
    cart = start_cart(
        tmp,
        master_data,
        USE_GRPC=str(use_grpc).lower(),
        USE_ITEM_CACHE=str(args.item_cache).lower(),
        TERMINAL_RATE_LIMIT="0",
        MAX_OPEN_CARTS="0",  # the virtual terminals share one key
    )
    try:
        before = lookup_histograms(cart.metrics())
        progress = Progress(args.carts, mode)
        recorder = uvloop.run(
            run_checkouts(
                cart.url() + "/api/v1",
                api_key,
                carts=args.carts,
                terminals=args.terminals,
                on_cart_done=lambda ok: progress.advance(errors=0 if ok else 1),
            )
        )
        after = lookup_histograms(cart.metrics())
    finally:
        cart.stop()
    lookups = {t: histogram_delta(h, before.get(t, {})) for t, h in after.items()}
    return ModeResult(mode, recorder, lookups)


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f} ms"


def table(results: list[ModeResult], args: argparse.Namespace) -> str:
    rows: list[tuple[str, ...]] = [("", *(r.mode for r in results))]

    def row(label: str, values: list[str]) -> None:
        rows.append((label, *values))

    adds = [r.recorder.latencies.get("add item", []) for r in results]
    row("add-item p50", [_ms(percentile(a, 0.5)) for a in adds])
    row("add-item p99", [_ms(percentile(a, 0.99)) for a in adds])
    for transport, name in (("grpc", "gRPC"), ("connect", "Connect")):
        histograms = [r.lookups.get(transport, {}) for r in results]
        counts = [int(h.get(math.inf, 0)) for h in histograms]
        if not any(counts):
            continue
        row(f"{name} lookups", [str(c) for c in counts])
        row(
            f"{name} lookup p50",
            [
                _ms(histogram_quantile(0.5, h)) if c else "-"
                for h, c in zip(histograms, counts, strict=True)
            ],
        )
        row(
            f"{name} lookup p99",
            [
                _ms(histogram_quantile(0.99, h)) if c else "-"
                for h, c in zip(histograms, counts, strict=True)
            ],
        )
    row("carts completed", [str(r.recorder.carts_done) for r in results])
    row("carts per second", [f"{r.recorder.carts_done / r.recorder.elapsed:.1f}" for r in results])
    row("errors", [str(r.recorder.error_count) for r in results])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        f"{args.carts} checkouts of 20 scans per mode, {args.terminals} terminals, "
        f"item cache {'on' if args.item_cache else 'off'}; lookup percentiles from the cart's "
        "histogram (interpolated within buckets)",
        "",
    ]
    for i, cells in enumerate(rows):
        lines.append(
            "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"
        )
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__)
    parser.add_argument("--carts", type=int, default=300, help="checkouts per mode (default 300)")
    parser.add_argument("--terminals", type=int, default=8, help="concurrent terminals (default 8)")
    parser.add_argument("--item-cache", action="store_true", help="turn the cart's item cache on")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kugel-demo-") as directory:
        tmp = Path(directory)
        print(f"starting master-data and cart on free ports, databases in {tmp}", file=sys.stderr)
        master_data = start_master_data(tmp)
        try:
            api_key = add_terminal(tmp, "T0001", "S001", "DEMO01")
            results = [
                run_mode(tmp, master_data, api_key, use_grpc, args) for use_grpc in (False, True)
            ]
        finally:
            master_data.stop()
    print()
    print(table(results, args))
    if any(r.recorder.error_count for r in results):
        for r in results:
            for what, count in r.recorder.errors.items():
                print(f"{r.mode}: {count} x {what}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
