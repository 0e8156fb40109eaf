"""Percentiles of measured latencies, and of Prometheus histograms scraped from /metrics."""

from __future__ import annotations

import math
from collections.abc import Sequence

from prometheus_client.parser import text_string_to_metric_families


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


Histogram = dict[float, float]  # upper bound -> cumulative count


def scrape_histograms(metrics_text: str, name: str, label: str) -> dict[str, Histogram]:
    """The buckets of histogram `name` per value of `label`, from Prometheus text format."""
    out: dict[str, Histogram] = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != name or family.type != "histogram":
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                bound = float(sample.labels["le"])  # "+Inf" parses as inf
                out.setdefault(sample.labels.get(label, ""), {})[bound] = sample.value
    return out


def lookup_histograms(metrics_text: str) -> dict[str, Histogram]:
    """The cart's master-data lookup latency histogram, per transport."""
    return scrape_histograms(metrics_text, "item_lookup_seconds", "transport")


def histogram_delta(after: Histogram, before: Histogram) -> Histogram:
    return {bound: count - before.get(bound, 0.0) for bound, count in after.items()}


def histogram_quantile(q: float, histogram: Histogram) -> float:
    """Like PromQL's histogram_quantile: linear within the bucket holding the quantile."""
    bounds = sorted(histogram)
    total = histogram.get(math.inf, 0.0)
    if total <= 0:
        return math.nan
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = histogram[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower
