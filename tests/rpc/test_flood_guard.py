"""The control-frame budget of one gRPC connection: a burst passes, a flood does not."""

from __future__ import annotations

from services.rpc.grpc_connection import FloodGuard


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_two_seconds_worth_passes_and_then_the_flood_is_stopped() -> None:
    clock = Clock()
    guard = FloodGuard(10, clock)
    assert all(guard.allow() for _ in range(20))
    assert not guard.allow()


def test_the_budget_refills_with_time() -> None:
    clock = Clock()
    guard = FloodGuard(10, clock)
    for _ in range(25):
        guard.allow()
    clock.now += 2.0
    assert guard.allow()
