"""Prometheus metrics of item lookups, on a registry the caller owns (tests make their own)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class LookupMetrics:
    """Lookups per transport and outcome, their latency, and cache hits and misses."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.lookups = Counter(
            "item_lookups",
            "Calls to master-data, by transport and outcome",
            ["transport", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "item_lookup_seconds",
            "Latency of calls to master-data, by transport",
            ["transport"],
            registry=registry,
            buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5),
        )
        self.cache = Counter(
            "item_cache_lookups", "Item cache answers, hit or miss", ["result"], registry=registry
        )
