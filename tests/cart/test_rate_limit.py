"""The per-terminal rate limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from services.cart.rate_limit import RateLimiter
from services.cart.server import CartParts
from services.cart.settings import CartSettings


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_bursts_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=3, clock=clock)
    assert [limiter.allow("t1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("t2")  # another terminal has its own bucket
    clock.now += 0.5  # one token back
    assert [limiter.allow("t1") for _ in range(2)] == [True, False]
    clock.now += 100
    assert sum(limiter.allow("t1") for _ in range(10)) == 3  # never more than the burst


def test_rate_zero_is_off() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.allow("t") for _ in range(1000))


@pytest.fixture
def cart_settings(tmp_path: Path) -> CartSettings:
    """A slow rate, so that no machine is slow enough to refill the bucket during the test."""
    return CartSettings(
        cart_db=str(tmp_path / "cart.db"), terminal_rate_limit=0.01, terminal_rate_burst=5
    )


def test_api_answers_429_with_retry_after(cart: CartParts, keys: dict[str, str]) -> None:
    with TestClient(cart.http_app, headers={"X-API-KEY": keys["r1"]}) as http:
        statuses = [http.get("/api/v1/carts/none").status_code for _ in range(8)]
        assert statuses == [404] * 5 + [429] * 3  # the burst, then the limit
        limited = http.get("/api/v1/carts/none")
        assert limited.headers["Retry-After"] == "1"
        assert limited.json()["code"] == "rate_limited"
        other = http.get("/api/v1/carts/none", headers={"X-API-KEY": keys["r2"]})
        assert other.status_code == 404  # other terminals are not held back
