"""Transactions on both backends, two repositories on one database standing for two replicas:
a bill or cancel writes its transaction with the cart, a sale is voided once and returned at
most as sold however the reversals race, receipt numbers stay unique per terminal."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator

import pytest

from services.cart import cart_json
from services.cart.cart import Cart
from services.cart.cart_values import Discount, PaymentMethod
from services.cart.discounts import DiscountType
from services.cart.errors import CartError, ErrorCode
from services.cart.repository import CartRepository
from services.cart.settings import CartSettings
from services.cart.storage import open_repository
from services.cart.terminals import Terminal
from services.cart.transaction_rows import TransactionQuery
from services.cart.transaction_service import Closings, TransactionService
from services.cart.transactions import TransactionType
from tests.cart.test_cart import NOW, line

from .conftest import Location
from .test_cart_storage import a_cart

TERMINAL = Terminal("T0001", "S001", "R01", "k1")
OTHER_STORE = Terminal("T0001", "S002", "R01", "k2")


@pytest.fixture
async def replicas(new_database: Location) -> AsyncIterator[tuple[CartRepository, ...]]:
    settings = CartSettings(cart_db=new_database(), db_pool_size=4)
    opened = [await open_repository(settings, create=True) for _ in range(2)]
    yield tuple(opened)
    for repository in opened:
        await repository.close()


class Clock:
    """A clock a second on at every reading: transactions in the order they were made."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime.datetime:
        self.now += datetime.timedelta(seconds=1)
        return self.now


async def sell(repository: CartRepository, closings: Closings, cart_id: str, qty: int = 3) -> Cart:
    cart = a_cart(cart_id)
    await repository.create(cart)
    cart.add_lines([line("A", 1000, qty), line("B", 250)], "JPY")
    cart.subtotal_now()
    cart.pay(PaymentMethod.CASH, 10_000)
    cart.bill(NOW)
    await repository.save(cart, 1, closing=closings.closing())
    return cart


async def test_a_bill_and_a_cancel_write_their_transactions_listed_newest_first(
    replicas: tuple[CartRepository, ...],
) -> None:
    one, two = replicas
    closings = Closings(clock=Clock())
    sold = await sell(one, closings, "c1")
    cancelled = a_cart("c2")
    await two.create(cancelled)
    cancelled.cancel()
    await two.save(cancelled, 1, closing=closings.closing())
    assert (sold.receipt_no, cancelled.receipt_no) == (1, 2)
    assert sold.transaction_id is not None
    stored = await two.load("c1")
    assert stored is not None
    assert stored.transaction_id == sold.transaction_id

    service = TransactionService(two, closings)
    sale = await service.get(TERMINAL, sold.transaction_id)
    assert (sale.type, sale.cart_id, sale.receipt_no, sale.total) == (
        TransactionType.SALE, "c1", 1, 3575,
    )  # fmt: skip
    page, next_page = await service.page(TransactionQuery("T0001", "S001", limit=1), 1)
    assert ([t.type for t in page], next_page) == ([TransactionType.CANCEL], 2)
    page, next_page = await service.page(TransactionQuery("T0001", "S001", offset=1, limit=1), 2)
    assert ([t.receipt_no for t in page], next_page) == ([1], None)
    sales = TransactionQuery("T0001", "S001", type=TransactionType.SALE, receipt_no=1,
                             business_date=NOW.date())  # fmt: skip
    assert [t.cart_id for t in (await service.page(sales, 1))[0]] == ["c1"]
    assert (await service.page(TransactionQuery("T0001", "S002"), 1))[0] == []
    with pytest.raises(CartError) as hidden:
        await service.get(OTHER_STORE, sold.transaction_id)
    assert (hidden.value.code, hidden.value.http_status) == (ErrorCode.TRANSACTION_NOT_FOUND, 404)


async def test_two_replicas_voiding_one_sale_at_once_void_it_once(
    replicas: tuple[CartRepository, ...],
) -> None:
    closings = Closings(clock=Clock())
    sold = await sell(replicas[0], closings, "c1")
    assert sold.transaction_id is not None
    services = [TransactionService(r, closings) for r in replicas]
    outcomes = await asyncio.gather(
        *(s.void(TERMINAL, sold.transaction_id) for s in services), return_exceptions=True
    )
    voids = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, CartError)]
    assert (len(voids), len(refused)) == (1, 1), outcomes
    assert refused[0].code is ErrorCode.INVALID_STATE
    void = voids[0]
    assert (void.type, void.original_transaction_id, void.receipt_no) == (
        TransactionType.VOID, sold.transaction_id, 2,
    )  # fmt: skip
    sale = await services[1].get(TERMINAL, sold.transaction_id)
    assert sale.void_transaction_id == void.transaction_id
    with pytest.raises(CartError) as again:
        await services[0].void(TERMINAL, sold.transaction_id)
    assert again.value.http_status == 409


async def test_returns_racing_on_two_replicas_never_return_more_than_was_sold(
    replicas: tuple[CartRepository, ...],
) -> None:
    closings = Closings(clock=Clock())
    sold = await sell(replicas[0], closings, "c1", qty=3)
    assert sold.transaction_id is not None
    services = [TransactionService(r, closings) for r in replicas]
    outcomes = await asyncio.gather(
        *(s.return_lines(TERMINAL, sold.transaction_id, {1: 2}, PaymentMethod.CASH)
          for s in services),
        return_exceptions=True,
    )  # fmt: skip
    returned = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, CartError)]
    assert (len(returned), len(refused)) == (1, 1), outcomes
    assert (refused[0].code, refused[0].http_status) == (ErrorCode.VALIDATION_ERROR, 400)
    last = await services[1].return_lines(
        TERMINAL, sold.transaction_id, {1: 1, 2: 1}, PaymentMethod.CARD, refund_reason="asked"
    )
    assert returned[0].total + last.total == 3575
    sale = await services[0].get(TERMINAL, sold.transaction_id)
    assert sale.returned() == {1: 3, 2: 1}
    with pytest.raises(CartError):
        await services[0].return_lines(TERMINAL, sold.transaction_id, {2: 1}, PaymentMethod.CASH)
    with pytest.raises(CartError) as hidden:
        await services[0].return_lines(OTHER_STORE, sold.transaction_id, {1: 1},
                                       PaymentMethod.CASH)  # fmt: skip
    assert hidden.value.code is ErrorCode.TRANSACTION_NOT_FOUND
    every = (await services[0].page(TransactionQuery("T0001", "S001", limit=100), 1))[0]
    numbers = sorted(t.receipt_no for t in every)
    assert numbers == [1, 2, 3]  # the sale and two returns: one number each, none twice


async def test_a_discounted_cart_reads_back_the_same_on_the_other_replica(
    replicas: tuple[CartRepository, ...],
) -> None:
    one, two = replicas
    cart = a_cart("c1")
    await one.create(cart)
    restricted = line("R", 500)
    restricted.discount_restricted = True
    cart.add_lines([line("A", 999, 2), restricted, line("B", 301)], "JPY")
    cart.discount_line(1, [Discount(type=DiscountType.PERCENT, value=15, reason="dented")])
    cart.discount_cart([Discount(type=DiscountType.AMOUNT, value=77)])
    await one.save(cart, 1)
    cart.discount_cart([Discount(type=DiscountType.PERCENT, value=3)])  # the header alone
    await one.save(cart, 2)
    loaded = await two.load("c1")
    assert loaded is not None
    assert cart_json.document(loaded) == cart_json.document(cart)
    assert loaded.discount_allocations == cart.discount_allocations
    assert [s.line_no for s in loaded.discount_allocations] == [1, 3]  # never the restricted
