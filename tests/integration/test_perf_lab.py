"""The perf lab's CPU-per-scan measurement, short: it runs end to end and reports figures
(speed goals live in `just perf`, never in asserts here)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from loadlab import basket_growth
from loadlab.cpu_per_scan import run
from loadlab.report import write_report
from loadlab.results import PerfResults
from loadlab.storage_engines import run_engine


def test_cpu_per_scan_measures_the_cart_and_both_floors() -> None:
    measured = run(terminals=8, rounds=2)
    assert measured.scans == 8 * 2 * 20
    assert measured.cart > 0
    assert measured.floor >= 0  # a floor may spend less than one clock tick on so few
    assert measured.durable_floor > 0  # its fsynced writes show


def test_cpu_per_scan_traced_measures_the_cart_traced_and_the_traced_floors() -> None:
    measured = run(terminals=4, rounds=1, traced=True)
    assert measured.cart > 0  # the traced cart: its spans went to the lab's OTLP sink
    assert measured.traced_floor is not None
    assert measured.bare_span_floor is not None


def test_basket_growth_reads_every_band_of_a_500_line_cart() -> None:
    measured = basket_growth.run(carts=1)
    assert [band.first_line for band in measured.bands] == list(range(1, 500, 20))
    assert all(band.cpu_ms > 0 for band in measured.bands)  # schedstat: no clock tick floor
    assert measured.bands[-1].answer_kib > measured.bands[0].answer_kib  # the full cart back
    assert "| 481-500 |" in basket_growth.table(measured)


# The report's charts have no checkout patterns to draw in this short run.
@pytest.mark.filterwarnings("ignore:No artists with labels:UserWarning")
def test_storage_engines_run_the_checkout_on_postgres_and_report_it(tmp_path: Path) -> None:
    measured = run_engine("PostgreSQL", terminals=4, seconds=3)
    assert measured.load.failures == 0
    assert measured.load.endpoints["add item"].requests > 0
    assert measured.cpu["PostgreSQL"] > 0  # the server's processes were found and counted
    results = PerfResults(datetime.datetime.now(datetime.UTC), 3.0, 0.0, storage=[measured])
    report = write_report(results, tmp_path, command="test").read_text()
    assert "| PostgreSQL |" in report
