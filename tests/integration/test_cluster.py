"""`just cluster`, short: replicas over one PostgreSQL lose no acknowledged line, apply no scan
twice, fail no request and repeat no receipt number when a cart and a master-data replica are
SIGKILLed: a request that died in flight goes again with its Idempotency-Key, and the terminals
of the dead cart replica carry on against another one. Every master-data replica answers
lookups, the one added midway too (how fast is `just cluster`'s verdict: speed goals stay out
of asserts)."""

from __future__ import annotations

from loadlab.cluster import run, table
from tests.support.harness.replicas import can_name_replicas


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
    named = 3 if can_name_replicas() else 2  # the replica added midway is named by DNS only
    assert len(result.shares.grpc) == 3, report
    assert sum(1 for count in result.shares.grpc.values() if count > 0) == named, report
    if can_name_replicas():
        assert result.shares.first_lookup_after is not None, report
