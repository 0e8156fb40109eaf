"""`just cluster`, short: replicas over one PostgreSQL lose no acknowledged line, apply no scan
twice, fail no request and repeat no receipt number when a cart and a master-data replica are
SIGKILLed: a request that died in flight goes again with its Idempotency-Key, and the terminals
of the dead cart replica carry on against another one (how fast is `just cluster`'s verdict:
speed goals stay out of asserts)."""

from __future__ import annotations

from loadlab.cluster import run, table


def test_a_short_cluster_run_survives_the_kills() -> None:
    result = run(seconds=8, terminals=6)
    report = table(result)
    assert result.checkouts > 0, report
    assert result.lost_lines == 0, report
    assert result.duplicate_receipts == 0, report
    assert result.other_errors == {}, report
    assert result.in_flight_errors == 0, report
    assert result.doubled_lines == 0, report
    assert any(seconds > 0 for seconds in result.carry_on.values()), report  # some moved
