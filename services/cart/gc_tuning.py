"""The garbage collector tuned for a request-serving process, as many Python services do.

CPython collects its youngest generation every 700 container allocations more than freed; a
scan allocates a few hundred (pydantic models, dicts, lists), so the collector ran every few
scans and, with thousands of carts kept in process, took a tenth of the cart's CPU per scan
(`just cpu-per-scan`; the figures in docs/measurements.md). Requests make almost no reference
cycles, so collecting young objects less often frees the same memory later, not less of it.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 50_000  # CPython's default: 700


def tune_for_serving() -> None:
    """Freeze what start-up made (modules, settings, wiring: never garbage, never scanned
    again) and collect the young generation every YOUNG_THRESHOLD allocations."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
