"""The perf lab's report: Markdown tables and matplotlib charts in one results folder."""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display here
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from . import basket_growth, storage_engines
from .locust_run import EndpointStats
from .results import PerfResults, Run
from .stats import histogram_quantile


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


NO_STATS = EndpointStats(0, 0.0, math.nan, math.nan, math.nan, math.nan, 0)


def _endpoint(run: Run, name: str) -> EndpointStats:
    return run.load.endpoints.get(name, NO_STATS)


def _lookup(run: Run, transport: str) -> tuple[float, float, float]:
    """Lookups per second, p50, p99 (seconds) of one transport in one run."""
    histogram = run.lookups.get(transport, {})
    count = histogram.get(math.inf, 0.0)
    if not count:
        return 0.0, math.nan, math.nan
    return (
        count / run.load.seconds,
        histogram_quantile(0.5, histogram),
        histogram_quantile(0.99, histogram),
    )


def _run_rows(results: PerfResults) -> list[list[str]]:
    rows = []
    for run in results.runs:
        adds = _endpoint(run, "add item")
        grpc = _lookup(run, "grpc")
        http = _lookup(run, "connect")
        rows.append(
            [
                str(run.terminals),
                run.mode.name,
                _ms(adds.p50),
                _ms(adds.p95),
                _ms(adds.p99),
                f"{adds.per_second:.0f}",
                _ms(_endpoint(run, "create cart").p50),
                _ms(_endpoint(run, "cancel cart").p50),
                str(run.load.failures),
                f"{grpc[0]:.0f} / {_ms(grpc[1])} / {_ms(grpc[2])}" if grpc[0] else "-",
                f"{http[0]:.0f} / {_ms(http[1])} / {_ms(http[2])}" if http[0] else "-",
                f"{run.cpu['cart']:.1f} / {run.cpu['master-data']:.1f}",
            ]
        )
    return rows


RUN_COLUMNS = [
    "terminals", "mode", "add p50", "add p95", "add p99", "add/s", "create p50", "cancel p50",
    "errors", "gRPC lookups/s, p50, p99", "HTTP lookups/s, p50, p99", "CPU s cart / md",
]  # fmt: skip


ENDPOINT_COLUMNS = ["terminals", "mode", "endpoint", "calls/s", "p50", "p95", "p99", "errors"]


def _endpoint_rows(results: PerfResults) -> list[list[str]]:
    rows = []
    for run in results.runs:
        for endpoint, stats in run.load.endpoints.items():
            rows.append([
                str(run.terminals),
                run.mode.name,
                endpoint,
                f"{stats.per_second:.0f}",
                *(_ms(q) for q in (stats.p50, stats.p95, stats.p99)),
                str(stats.failures),
            ])  # fmt: skip
    return rows


def _charts(results: PerfResults, folder: Path) -> None:
    modes = list(dict.fromkeys(run.mode for run in results.runs))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for index, mode in enumerate(modes):
        style = {"color": f"C{index}"}  # one colour per mode: p50 solid, p99 dashed
        runs = [r for r in results.runs if r.mode == mode]
        x = [r.terminals for r in runs]
        p50 = [_endpoint(r, "add item").p50 * 1000 for r in runs]
        p99 = [_endpoint(r, "add item").p99 * 1000 for r in runs]
        left.plot(x, p50, marker="o", label=f"{mode.name} p50", **style)
        left.plot(x, p99, marker="x", linestyle="--", label=f"{mode.name} p99", **style)
        rates = [_endpoint(r, "add item").per_second for r in runs]
        right.plot(x, rates, marker="o", label=mode.name, **style)
    left.set(title="add-item latency", xlabel="terminals", ylabel="ms")
    right.set(title="add-item throughput", xlabel="terminals", ylabel="requests / s")
    for axis in (left, right):  # from zero, terminals counted in whole ones
        axis.set_xlim(left=0)
        axis.set_ylim(bottom=0)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.legend(fontsize=7)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "add_item.png", dpi=100)
    plt.close(fig)

    fig, axis = plt.subplots(figsize=(7, 4))
    labels = [f"{r.client}\n32 in flight" for r in results.anchor]
    labels += [f"Connect, {w} worker{'s' if w > 1 else ''}\n32 in flight" for w in results.scaling]
    values = [r.per_second for r in results.anchor] + [
        r.per_second for r in results.scaling.values()
    ]
    axis.barh(labels, values, color=["#4c72b0", "#dd8452", "#55a868", "#8172b3"][: len(values)])
    axis.set(title="master-data lookups per second (same run)", xlabel="lookups / s")
    axis.set_xlim(left=0)
    axis.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(folder / "lookups.png", dpi=100)
    plt.close(fig)


def _verdict(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "missed")


def _targets(results: PerfResults) -> list[list[str]]:
    """Each target of the original plan and this project, the measured figure, met or missed."""
    rows = []
    smallest = min((r.terminals for r in results.runs), default=0)
    for run in results.runs:
        if run.terminals == smallest:
            mean = _endpoint(run, "add item").mean
            rows.append(
                [
                    "average response 340 ms -> 177 ms (original plan)",
                    f"{_ms(mean)} ms mean add-item, {run.terminals} terminals, {run.mode.name}",
                    _verdict(None if math.isnan(mean) else mean <= 0.177),
                ]
            )
    for run in results.runs:
        if run.terminals == smallest and not run.mode.item_cache:
            transport = "grpc" if run.mode.use_grpc else "connect"
            _, p50, _ = _lookup(run, transport)
            rows.append(
                [
                    "master-data communication 130-150 ms -> 2-5 ms (original plan)",
                    f"{_ms(p50)} ms p50 over {transport}, under {run.terminals}-terminal load",
                    _verdict(None if math.isnan(p50) else p50 <= 0.005),
                ]
            )
    sequential = {r.client: r for r in results.anchor_sequential}
    for client, result in sequential.items():
        rows.append(
            [
                f"one lookup, sequential: {client} (master-data target: gRPC p50 <= 0.4 ms)",
                f"{_ms(result.p50)} ms p50",
                _verdict(None if math.isnan(result.p50) else result.p50 <= 0.0004),
            ]
        )
    if len(results.anchor) == 2:
        ours, reference = results.anchor
        rows.append(
            [
                "grpclib client >= 0.8x grpcio client, 32 in flight",
                f"{ours.per_second / reference.per_second:.2f}x"
                f" ({ours.per_second:.0f} vs {reference.per_second:.0f} lookups/s)",
                _verdict(ours.per_second >= 0.8 * reference.per_second),
            ]
        )
    for run in results.runs:
        if run.terminals == 40 and run.mode.use_grpc and run.mode.item_cache:
            adds = _endpoint(run, "add item")
            rows.append(
                [
                    "cart API, 40 terminals, gRPC, cache on:"
                    " add-item p50 <= 3 ms, p99 <= 15 ms, >= 400/s, 0 errors",
                    f"p50 {_ms(adds.p50)} ms, p99 {_ms(adds.p99)} ms,"
                    f" {adds.per_second:.0f}/s, {run.load.failures} errors",
                    _verdict(
                        adds.p50 <= 0.003
                        and adds.p99 <= 0.015
                        and adds.per_second >= 400
                        and run.load.failures == 0
                    ),
                ]
            )
    if results.basket is not None:
        rows.append(
            [
                "CPU per scan at lines 481-500 <= 1.5x lines 1-20",
                f"{results.basket.ratio:.1f}x",
                _verdict(results.basket.ratio <= 1.5),
            ]
        )
    if results.cpu_per_scan is not None:
        durable = results.cpu_per_scan.durable_ratio
        rows.append(
            [
                "cart CPU per add-item <= 2x the durable floor, 40 terminals",
                f"{durable:.1f}x",
                _verdict(durable <= 2.0),
            ]
        )
    if results.storage:
        ratio = storage_engines.ratio(results.storage)
        rows.append(
            [
                "PostgreSQL >= 0.6x SQLite's requests/s, 40 terminals",
                f"{ratio:.2f}x",
                _verdict(ratio >= 0.6),
            ]
        )
    return rows


def _cpu_per_scan(results: PerfResults) -> str:
    measured = results.cpu_per_scan
    if measured is None:
        return "Not measured in this run."
    rows = [
        ["cart: add-item, item cache on (`loadlab/cpu_per_scan.py`)", f"{measured.cart:.3f}"],
        ["floor: bare Starlette route, reads a JSON body, answers 2 KB", f"{measured.floor:.3f}"],
        [
            "durable floor: the same route plus one fsynced SQLite write",
            f"{measured.durable_floor:.3f}",
        ],
    ]
    return (
        _table(["process", "CPU seconds per 1,000 requests"], rows)
        + f"\n\nThe cart spends {measured.ratio:.1f}x the floor's CPU per add-item and "
        f"{measured.durable_ratio:.1f}x the durable floor's ({measured.scans} scans by 40 "
        "terminals; the floors run on the same server and limits)."
    )


def _basket(results: PerfResults, folder: Path, images: Path) -> str:
    measured = results.basket
    if measured is None:
        return "Not measured in this run."
    fig, axis = plt.subplots(figsize=(7, 4))
    x = [band.first_line + basket_growth.BAND - 1 for band in measured.bands]
    axis.plot(x, [band.cpu_ms for band in measured.bands], marker="o", label="cart CPU per scan")
    axis.plot(x, [band.latency_ms for band in measured.bands], marker="x", label="latency p50")
    axis.set(title="a scan's cost as the basket grows", xlabel="lines in the cart", ylabel="ms")
    axis.set_xlim(left=0)
    axis.set_ylim(bottom=0)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(folder / "basket.png", dpi=100)
    plt.close(fig)
    return (
        basket_growth.table(measured)
        + f"\n\nCPU per scan at lines 481-500 is {measured.ratio:.1f}x lines 1-20 (the goal: "
        f"at most 1.5x; median of {measured.carts} carts).\n\n"
        f"![a scan's cost as the basket grows]({images / 'basket.png'})"
    )


def _storage(results: PerfResults) -> str:
    if not results.storage:
        return "Not measured in this run."
    return (
        _table(storage_engines.HEADER, storage_engines.rows(results.storage))
        + f"\n\nPostgreSQL reaches {storage_engines.ratio(results.storage):.2f}x SQLite's "
        "requests/s here (the goal: at least 0.6x), on one 2-core machine that also runs the "
        "load generator and the database server."
    )


def write_report(
    results: PerfResults, folder: Path, *, command: str, markdown: Path | None = None
) -> Path:
    """The charts into `folder`, the report into `markdown` (default: `folder`/report.md),
    its images linked relative to it."""
    folder.mkdir(parents=True, exist_ok=True)
    _charts(results, folder)
    markdown = markdown or folder / "report.md"
    images = Path(os.path.relpath(folder, markdown.parent))
    anchor_rows = [
        [r.client, str(in_flight), f"{r.per_second:.0f}", _ms(r.p50), _ms(r.p99), str(r.errors)]
        for in_flight, group in ((32, results.anchor), (1, results.anchor_sequential))
        for r in group
    ]
    scaling_rows = [
        [str(w), f"{r.per_second:.0f}", _ms(r.p50), _ms(r.p99), str(r.errors)]
        for w, r in results.scaling.items()
    ]
    text = f"""# Performance report {results.started:%Y-%m-%d %H:%M} UTC

Machine: {os.cpu_count()} cores, {_cpu_model()}, Python {platform.python_version()}. Every figure
below comes from this one run, the load generator sharing the machine with both services.
Command: `{command}`; {results.seconds_per_run:.0f} s per pattern and mode,
{results.think_seconds:g} s think time between scans.

## Targets beside the measured figures

{_table(["target", "measured", "verdict"], _targets(results))}

## Scenario: create a cart, add 20 items one request each, cancel, repeat

Latencies in ms (Locust's percentiles, in whole milliseconds). Lookups: master-data calls
per second / p50 / p99 as the cart measured them (interpolated from its histogram). CPU: seconds
used by cart / master-data during the run.

{_table(RUN_COLUMNS, _run_rows(results))}

![add-item latency and throughput]({images / "add_item.png"})

### Every endpoint

{_table(ENDPOINT_COLUMNS, _endpoint_rows(results))}

## Anchor: our client against Google's grpcio client, same server, same run

{_table(["client", "in flight", "lookups/s", "p50 ms", "p99 ms", "errors"], anchor_rows)}

## Scaling: master-data workers sharing the ports (SO_REUSEPORT)

Connect JSON lookups over 32 connections, 32 in flight, straight at master-data.

{_table(["workers", "lookups/s", "p50 ms", "p99 ms", "errors"], scaling_rows)}

A second worker pays off only where a core is free for it: on a 2-core machine that also runs
the load generator, compare the CPU columns above before reading this row as a limit.

![lookups per second]({images / "lookups.png"})

## CPU per scan: the cart against a bare Starlette route, same client, same run

{_cpu_per_scan(results)}

## Basket growth: one cart of 500 lines, one scan a request

{_basket(results, folder, images)}

## Storage engines: the 40-terminal checkout on SQLite and on PostgreSQL, same run

Both services on SQLite files, then both on an embedded PostgreSQL (`loadlab/storage_engines.py`;
gRPC, item cache on, the same Locust load as above).

{_storage(results)}

## How to reproduce

`python3 -m venv .venv && .venv/bin/pip install -e ".[dev]"`, then `just perf` (patterns of 20 and
40 terminals, 6 s each, under 3 minutes) or `just perf-full` (20, 30, 40 and 50 terminals, 20 s
each). Both start master-data and cart on free loopback ports with fresh SQLite files in a temp
dir, seed the demo data, register a terminal, and drive the cart API with Locust headless
(`loadlab/locustfile.py`: one FastHttpUser per terminal, as the original plan used
Locust); latencies are Locust's own percentiles. The cart is restarted for every mode with
`USE_GRPC` and `USE_ITEM_CACHE` set accordingly. The anchor and scaling rows come from
`loadlab/lookup_load.py`. `python -m loadlab.perf --help` lists the knobs
(`--patterns 20 30`, `--seconds 10`, `--out DIR`). This machine's speed varies severalfold from
hour to hour: compare figures within one report, not across reports.
"""
    markdown.write_text(text)
    return markdown
