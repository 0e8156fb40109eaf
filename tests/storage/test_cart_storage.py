"""The cart's storage on both backends, with two repositories on one database standing for two
replicas: round trips, optimistic versions (no lost update) and receipt numbers that stay
unique and gap-free per terminal when both bill at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.cart import cart_json
from services.cart.cart import Cart
from services.cart.cart_values import CartState, PaymentMethod
from services.cart.repository import CartRepository, TooManyOpenCarts, VersionConflict
from services.cart.settings import CartSettings
from services.cart.storage import open_repository
from services.cart.terminals import issue_key
from tests.cart.test_cart import NOW, line

from .conftest import Location


@pytest.fixture
async def replicas(new_database: Location) -> AsyncIterator[tuple[CartRepository, ...]]:
    location = new_database()
    settings = CartSettings(cart_db=location, db_pool_size=4)
    opened = [await open_repository(settings, create=True) for _ in range(2)]
    yield tuple(opened)
    for repository in opened:
        await repository.close()


def a_cart(cart_id: str, terminal: str = "R01") -> Cart:
    return Cart(
        cart_id=cart_id,
        tenant_id="T0001",
        store_code="S001",
        terminal_id=terminal,
        created_at=NOW,
        updated_at=NOW,
    )


async def test_terminal_and_cart_round_trip(replicas: tuple[CartRepository, ...]) -> None:
    one, two = replicas
    key = issue_key()
    await one.add_terminal(key, "T0001", "S001", "R01")
    found = await two.find_terminal(key.key_id)
    assert found is not None
    assert (found[0].terminal_id, found[1]) == ("R01", key.key_hash)
    assert await two.find_terminal("nobody") is None

    cart = a_cart("c1")
    await one.create(cart)
    cart.add_lines([line("A", 120, 2), line("B", 99)], "JPY")
    await one.save(cart, 1)
    loaded = await two.load("c1")
    assert loaded is not None
    assert cart_json.document(loaded) == cart_json.document(cart)
    assert (await two.version("c1"), loaded.version, loaded.subtotal) == (2, 2, 339)
    assert await two.load("missing") is None
    assert await two.version("missing") is None


async def test_a_stale_save_is_refused_and_nothing_is_lost(
    replicas: tuple[CartRepository, ...],
) -> None:
    one, two = replicas
    await one.create(a_cart("c1"))
    mine, theirs = await one.load("c1"), await two.load("c1")
    assert mine is not None
    assert theirs is not None
    mine.add_lines([line("A", 100)], "JPY")
    theirs.add_lines([line("B", 200)], "JPY")
    await one.save(mine, 1)
    with pytest.raises(VersionConflict):
        await two.save(theirs, 1)
    assert theirs.version == 1  # as loaded: the caller reloads and applies again
    stored = await two.load("c1")
    assert stored is not None
    assert [i.item_code for i in stored.line_items] == ["A"]


async def test_concurrent_scans_from_two_replicas_lose_no_line(
    replicas: tuple[CartRepository, ...],
) -> None:
    await replicas[0].create(a_cart("c1"))

    async def scan(repository: CartRepository, code: str) -> None:
        while True:  # what CartService does on a conflict: reload, apply again
            cart = await repository.load("c1")
            assert cart is not None
            version = cart.version
            cart.add_lines([line(code, 10)], "JPY")
            try:
                await repository.save(cart, version)
                return
            except VersionConflict:
                continue

    codes = [f"I{n:02d}" for n in range(30)]
    await asyncio.gather(*(scan(replicas[n % 2], code) for n, code in enumerate(codes)))
    stored = await replicas[1].load("c1")
    assert stored is not None
    assert sorted(i.item_code for i in stored.line_items) == codes
    assert stored.version == 1 + len(codes)


async def test_receipt_numbers_stay_unique_per_terminal_across_replicas(
    replicas: tuple[CartRepository, ...],
) -> None:
    carts = []
    for n in range(24):
        cart = a_cart(f"c{n}")
        await replicas[0].create(cart)
        cart.add_lines([line("A", 100)], "JPY")
        cart.subtotal_now()
        cart.pay(PaymentMethod.CASH, 1000)
        cart.bill(NOW)
        carts.append(cart)
    other = a_cart("other", terminal="R02")
    await replicas[0].create(other)

    async def bill(n: int, cart: Cart) -> None:
        await replicas[n % 2].save(cart, 1)

    await asyncio.gather(*(bill(n, cart) for n, cart in enumerate(carts)))
    assert sorted(c.receipt_no or 0 for c in carts) == list(range(1, 25))
    for cart in carts:
        stored = await replicas[1].load(cart.cart_id)
        assert stored is not None
        assert (stored.state, stored.receipt_no) == (CartState.COMPLETED, cart.receipt_no)
    other.add_lines([line("A", 100)], "JPY")
    other.subtotal_now()
    other.pay(PaymentMethod.CASH, 1000)
    other.bill(NOW)
    await replicas[1].save(other, 1)
    assert other.receipt_no == 1  # its own terminal's counter


async def test_a_lost_race_gives_its_receipt_number_back(
    replicas: tuple[CartRepository, ...],
) -> None:
    one, two = replicas
    await one.create(a_cart("c1"))
    cart = await one.load("c1")
    assert cart is not None
    cart.add_lines([line("A", 100)], "JPY")
    cart.subtotal_now()
    cart.pay(PaymentMethod.CASH, 1000)
    cart.bill(NOW)
    await two.save(await _touched(two, "c1"), 1)  # another replica changed it first
    with pytest.raises(VersionConflict):
        await one.save(cart, 1)
    assert cart.receipt_no is None
    fresh = await one.load("c1")
    assert fresh is not None
    fresh.add_lines([line("A", 100)], "JPY")
    fresh.subtotal_now()
    fresh.pay(PaymentMethod.CASH, 1000)
    fresh.bill(NOW)
    await one.save(fresh, fresh.version)
    assert fresh.receipt_no == 1  # the number the lost save took was rolled back


async def _touched(repository: CartRepository, cart_id: str) -> Cart:
    cart = await repository.load(cart_id)
    assert cart is not None
    cart.add_lines([line("Z", 100)], "JPY")
    return cart


async def test_a_preloaded_store_is_kept_replaced_and_updated(
    replicas: tuple[CartRepository, ...],
) -> None:
    one, two = replicas
    assert await two.load_preloaded("T0001", "S001") is None
    await one.replace_preloaded("T0001", "S001", 41, {"A": '{"a":1}', "B": '{"b":1}'})
    await one.replace_preloaded("T0001", "S002", 7, {"A": '{"other":1}'})
    kept = await two.load_preloaded("T0001", "S001")
    assert kept is not None
    assert (kept.sequence, sorted(kept.documents)) == (41, ['{"a":1}', '{"b":1}'])
    await two.update_preloaded("T0001", "S001", {"B": '{"b":2}', "C": '{"c":1}'}, ["A"])
    kept = await one.load_preloaded("T0001", "S001")
    assert kept is not None
    assert sorted(kept.documents) == ['{"b":2}', '{"c":1}']
    await one.replace_preloaded("T0001", "S001", 50, {"D": '{"d":1}'})  # all or nothing
    kept = await two.load_preloaded("T0001", "S001")
    assert kept is not None
    assert (kept.sequence, kept.documents) == (50, ['{"d":1}'])
    other = await two.load_preloaded("T0001", "S002")
    assert other is not None
    assert other.documents == ['{"other":1}']


async def test_a_terminal_may_hold_only_so_many_open_carts(
    replicas: tuple[CartRepository, ...],
) -> None:
    one, two = replicas
    for n in range(3):
        await (one, two)[n % 2].create(a_cart(f"open-{n}"), max_open=3)
    with pytest.raises(TooManyOpenCarts):
        await two.create(a_cart("open-3"), max_open=3)
    await one.create(a_cart("other-terminal", terminal="R02"), max_open=3)  # its own count
    done = await one.load("open-0")
    assert done is not None
    done.cancel()
    await one.save(done, 1)
    await two.create(a_cart("open-4"), max_open=3)  # a cancelled cart is not open
    await two.create(a_cart("unbounded"))  # no limit asked for
