"""Idempotency-Key on both engines, with two CartServices on one database standing for two
replicas: a repeat answers what the first did without applying it again (on either replica),
the same key with another request is 422, a key after its TTL is new again, and two replicas
racing on one key apply it once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.cart import cart_json
from services.cart.cart_service import CartService, LineRequest
from services.cart.errors import CartError, ErrorCode
from services.cart.item_master.model import BatchResult
from services.cart.repository import CartRepository, IdempotencyKey
from services.cart.settings import CartSettings
from services.cart.storage import open_repository
from services.cart.terminals import Terminal
from tests.cart.test_item_master_client import detail

from .conftest import Location

TERMINAL = Terminal("T0001", "S001", "R01", "key-1")


class Items:
    """Every code is an item at 100."""

    async def get_items(
        self, tenant: str, store: str, codes: list[str], **_: object
    ) -> BatchResult:
        return BatchResult({c: detail(c) for c in codes}, [])


@pytest.fixture
async def replicas(new_database: Location) -> AsyncIterator[tuple[CartService, CartService]]:
    location = new_database()
    opened: list[CartRepository] = [
        await open_repository(CartSettings(cart_db=location, db_pool_size=4), create=True)
        for _ in range(2)
    ]
    yield CartService(opened[0], Items()), CartService(opened[1], Items())  # type: ignore[arg-type]
    for repository in opened:
        await repository.close()


def key(name: str, request: str = "scan A", ttl: float = 3600) -> IdempotencyKey:
    return IdempotencyKey(TERMINAL.key_id, name, request, ttl)


SCAN = [LineRequest("A", 1)]


async def test_a_repeat_answers_the_first_answer_without_applying_it_again(
    replicas: tuple[CartService, CartService],
) -> None:
    one, two = replicas
    cart = await one.create(TERMINAL, key("create-1", "create"))
    again = await two.create(TERMINAL, key("create-1", "create"))
    assert again.cart_id == cart.cart_id
    first = await one.add_lines(TERMINAL, cart.cart_id, SCAN, idempotency=key("scan-1"))
    repeat = await two.add_lines(TERMINAL, cart.cart_id, SCAN, idempotency=key("scan-1"))
    assert cart_json.document(repeat) == cart_json.document(first)
    assert len((await two.get(TERMINAL, cart.cart_id)).line_items) == 1
    paid = await one.add_lines(TERMINAL, cart.cart_id, SCAN, idempotency=key("scan-2"))
    assert len(paid.line_items) == 2  # another key: another scan


async def test_the_same_key_with_another_request_is_refused(
    replicas: tuple[CartService, CartService],
) -> None:
    one, two = replicas
    cart = await one.create(TERMINAL)
    await one.add_lines(TERMINAL, cart.cart_id, SCAN, idempotency=key("k"))
    with pytest.raises(CartError) as refused:
        await two.add_lines(TERMINAL, cart.cart_id, SCAN, idempotency=key("k", "scan B"))
    assert (refused.value.code, refused.value.http_status) == (
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        422,
    )


async def test_a_key_past_its_ttl_is_a_new_key(replicas: tuple[CartService, CartService]) -> None:
    one, two = replicas
    cart = await one.create(TERMINAL)
    await one.add_lines(TERMINAL, cart.cart_id, SCAN, idempotency=key("old", ttl=0.05))
    await asyncio.sleep(0.1)
    again = await two.add_lines(TERMINAL, cart.cart_id, SCAN, idempotency=key("old", ttl=0.05))
    assert len(again.line_items) == 2


async def test_two_replicas_racing_on_one_key_apply_it_once(
    replicas: tuple[CartService, CartService],
) -> None:
    one, two = replicas
    cart = await one.create(TERMINAL)
    for n in range(10):
        answers = await asyncio.gather(
            one.add_lines(TERMINAL, cart.cart_id, SCAN, idempotency=key(f"race-{n}")),
            two.add_lines(TERMINAL, cart.cart_id, SCAN, idempotency=key(f"race-{n}")),
        )
        assert cart_json.document(answers[0]) == cart_json.document(answers[1])
    assert len((await one.get(TERMINAL, cart.cart_id)).line_items) == 10
