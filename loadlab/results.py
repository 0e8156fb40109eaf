"""What one perf lab run measured: the modes, each pattern's run, the anchor and the scaling."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from .basket_growth import BasketGrowth
from .cpu_per_scan import CpuPerScan
from .locust_run import LoadRun
from .lookup_load import LoadResult
from .stats import Histogram
from .storage_engines import EngineRun


@dataclass(frozen=True)
class Mode:
    use_grpc: bool
    item_cache: bool

    @property
    def name(self) -> str:
        return f"{'gRPC' if self.use_grpc else 'HTTP'}, cache {'on' if self.item_cache else 'off'}"


MODES = [Mode(g, c) for c in (True, False) for g in (False, True)]


@dataclass
class Run:
    """One pattern in one mode."""

    mode: Mode
    terminals: int
    load: LoadRun
    lookups: dict[str, Histogram]
    cpu: dict[str, float]


@dataclass
class PerfResults:
    started: datetime.datetime
    seconds_per_run: float
    think_seconds: float
    runs: list[Run] = field(default_factory=list)
    anchor: list[LoadResult] = field(default_factory=list)
    anchor_sequential: list[LoadResult] = field(default_factory=list)
    scaling: dict[int, LoadResult] = field(default_factory=dict)
    cpu_per_scan: CpuPerScan | None = None
    storage: list[EngineRun] = field(default_factory=list)
    basket: BasketGrowth | None = None
