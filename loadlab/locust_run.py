"""Running the perf scenario with Locust headless, and reading its CSV statistics."""

from __future__ import annotations

import csv
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.harness.processes import BIN

from .progress import Progress

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@dataclass(frozen=True)
class EndpointStats:
    """One endpoint in one run, as Locust measured it (times in seconds)."""

    requests: int
    per_second: float
    mean: float
    p50: float
    p95: float
    p99: float
    failures: int


@dataclass(frozen=True)
class LoadRun:
    endpoints: dict[str, EndpointStats]
    seconds: float  # how long the load ran, as Locust counted it

    @property
    def failures(self) -> int:
        return sum(e.failures for e in self.endpoints.values())


def _seconds(milliseconds: str) -> float:
    return float(milliseconds) / 1000 if milliseconds not in ("", "N/A") else float("nan")


def run_locust(
    host: str,
    api_key: str,
    *,
    users: int,
    seconds: float,
    think_seconds: float,
    csv_prefix: Path,
    label: str,
) -> LoadRun:
    """`users` terminals for `seconds` against the cart at `host`, with a progress bar."""
    command = [
        str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "-u", str(users), "-r", str(users), "-t", f"{seconds:g}s", "--stop-timeout", "10",
        "-H", host, "--csv", str(csv_prefix),
    ]  # fmt: skip
    env = {
        **os.environ,
        "KUGEL_API_KEY": api_key,
        "KUGEL_THINK_SECONDS": str(think_seconds),
        "PYTHONPATH": str(LOCUSTFILE.parent.parent),  # the lab is not installed: import from here
    }
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603 - our own venv's locust, fixed argv
    progress = Progress(int(seconds), label, unit="s")
    while process.poll() is None:
        time.sleep(1)
        if progress.done < int(seconds):
            progress.tick()
    progress.finish()
    _, stderr = process.communicate()
    stats_file = Path(f"{csv_prefix}_stats.csv")
    if not stats_file.exists():
        raise RuntimeError(f"locust wrote no statistics: {stderr.decode(errors='replace')[-2000:]}")
    endpoints = {}
    seconds = time.monotonic() - started
    with stats_file.open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                if float(row["Requests/s"]) > 0:  # Locust's own duration, without start-up
                    seconds = int(row["Request Count"]) / float(row["Requests/s"])
                continue
            endpoints[row["Name"]] = EndpointStats(
                requests=int(row["Request Count"]),
                per_second=float(row["Requests/s"]),
                mean=_seconds(row["Average Response Time"]),
                p50=_seconds(row["50%"]),
                p95=_seconds(row["95%"]),
                p99=_seconds(row["99%"]),
                failures=int(row["Failure Count"]),
            )
    return LoadRun(endpoints, seconds)
