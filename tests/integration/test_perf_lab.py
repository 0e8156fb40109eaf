"""The perf lab's CPU-per-scan measurement, short: it runs end to end and reports figures
(speed goals live in `just perf`, never in asserts here)."""

from __future__ import annotations

from loadlab.cpu_per_scan import run


def test_cpu_per_scan_measures_the_cart_and_both_floors() -> None:
    measured = run(terminals=8, rounds=2)
    assert measured.scans == 8 * 2 * 20
    assert measured.cart > 0
    assert measured.floor >= 0  # a floor may spend less than one clock tick on so few
    assert measured.durable_floor > 0  # its fsynced writes show
