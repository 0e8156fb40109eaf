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
            # Fine below 2 ms, where lookups should be, so percentiles interpolate closely.
            buckets=(
                0.0001,
                0.0002,
                0.0003,
                0.0004,
                0.0005,
                0.0006,
                0.0008,
                0.001,
                0.00125,
                0.0015,
                0.00175,
                0.002,
                0.0025,
                0.003,
                0.004,
                0.005,
                0.0075,
                0.01,
                0.025,
                0.05,
                0.1,
                0.25,
                0.5,
                1,
                2.5,
                5,
            ),
        )
        self.cache = Counter(
            "item_cache_lookups", "Item cache answers, hit or miss", ["result"], registry=registry
        )
