"""The memory attacks of the edges issue, at a size the suite can afford: what the target may
hold stays bounded (full sizes: `just watch-streams --streams 10000`, `python -m
loadlab.cart_memory`; figures in docs/reliability.md)."""

from __future__ import annotations

from loadlab import watch_streams
from loadlab.cart_memory import Attack, run


def test_one_terminal_opening_carts_without_end_gets_its_cap_and_no_more() -> None:
    measured = run(terminals=1, attack=Attack(carts=30, lines=200), settings={})
    assert (measured.opened, measured.refused) == (20, 10)  # MAX_OPEN_CARTS
    assert measured.rss_peak - measured.rss_idle < 150 * 1024
    assert measured.scans  # a normal terminal was served throughout


def test_a_change_reaches_every_watch_with_one_log_read_each() -> None:
    measured = watch_streams.run(streams=1_000, changes=3)
    assert len(measured.fan_outs) == 3  # each reached all 1,000
    assert measured.log_reads_per_change < 5  # one shared reader, not one per watch
    assert measured.rss_after - measured.rss_before < 150 << 20
    assert measured.lookups  # a normal client was answered meanwhile
