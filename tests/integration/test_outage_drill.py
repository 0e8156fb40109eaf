"""The outage drill's short version (`just outage` runs the long one): no scan of a known or
preloaded item fails and no line carries a wrong price while master-data is away and back."""

from __future__ import annotations

from pathlib import Path

from loadlab.outage import run, table


async def test_a_short_outage_drill_sells_every_scan_at_the_right_price(tmp_path: Path) -> None:
    drill = await run(tmp_path, terminals=6, outage_seconds=4, think=0.05, before_seconds=3, ttl=1)
    print("\n" + table(drill, 6, 4))
    assert drill.sold["failed"] == 0, drill.failures
    assert drill.wrong == []
    assert drill.sold["last_known"] > 0  # the outage outlived the TTL: copies were sold
    assert drill.sold["live"] > 0
    assert drill.live_again_at > 0
