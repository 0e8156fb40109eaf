"""A cart's lines as rows of their own (schema 5), on both engines: a scan writes its line and
the header, not the whole cart; the cart reads back the same; a database made by the release
before (whole documents, carts mid-sale) keeps every cart and moves its lines at the next save."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg

from services.cart import cart_json, cart_saving
from services.cart.cart import Cart
from services.cart.cart_values import CartState, PaymentMethod
from services.cart.schema import PG_MIGRATIONS, SQLITE_MIGRATIONS
from services.cart.settings import CartSettings
from services.cart.storage import open_repository
from services.common.postgres import is_postgres, open_pool
from services.common.sqlite_threads import SqliteThreads
from tests.cart.test_cart import NOW, line

from .conftest import Location
from .test_cart_storage import a_cart


async def _rows(location: str, query: str) -> list[tuple[object, ...]]:
    if is_postgres(location):
        connection = await asyncpg.connect(location)
        try:
            return [tuple(r) for r in await connection.fetch(query)]
        finally:
            await connection.close()
    with sqlite3.connect(location) as connection:
        return list(connection.execute(query))


async def _as_the_release_before(location: str, carts: list[Cart]) -> None:
    """The database as the release before made it: schema 1-4, each cart one whole document."""
    marks = [f"${n}" if is_postgres(location) else "?" for n in range(1, 9)]
    insert = f"INSERT INTO carts VALUES ({', '.join(marks)})"  # noqa: S608 - placeholders only
    rows = [
        (c.cart_id, c.tenant_id, c.store_code, c.terminal_id, c.state.value, c.version,
         c.model_dump_json(by_alias=True), 1)
        for c in carts
    ]  # fmt: skip
    if is_postgres(location):
        pool = await open_pool(location, 1, PG_MIGRATIONS[:4])
        try:
            for row in rows:
                await pool.execute(insert, *row)
        finally:
            await pool.close()
        return
    threads = await SqliteThreads.open(
        Path(location), SQLITE_MIGRATIONS[:4], synchronous="FULL", create=True
    )
    try:
        await threads.write(lambda c: c.executemany(insert, rows))
    finally:
        await threads.close()


def _mid_sale() -> tuple[Cart, Cart]:
    entering = a_cart("entering")
    entering.add_lines([line("A", 120, 2), line("B", 99), line("C", 300)], "JPY")
    entering.cancel_line(2)
    entering.version = 3
    paying = a_cart("paying")
    paying.add_lines([line("D", 500)], "JPY")
    paying.subtotal_now()
    paying.pay(PaymentMethod.CARD, 200)
    paying.version = 4
    return entering, paying


async def test_carts_stored_by_the_release_before_are_kept_and_move_to_rows(
    new_database: Location,
) -> None:
    location = new_database()
    entering, paying = _mid_sale()
    await _as_the_release_before(location, [entering, paying])
    repository = await open_repository(
        CartSettings(cart_db=location), create=True
    )  # applies migration 5
    try:
        for before in (entering, paying):
            loaded = await repository.load(before.cart_id)
            assert loaded is not None
            assert cart_json.document(loaded) == cart_json.document(
                before
            )  # every line, payment and total
        loaded = await repository.load("entering")
        assert loaded is not None
        loaded.add_lines([line("E", 50)], "JPY")
        await repository.save(loaded, 3)
        again = await repository.load("entering")
        assert again is not None
        assert cart_json.document(again) == cart_json.document(loaded)
        assert [li.line_no for li in again.line_items] == [1, 2, 3, 4]
        assert again.line_items[1].cancelled
        paid = await repository.load("paying")
        assert paid is not None
        paid.pay(PaymentMethod.CASH, 1000)
        paid.bill(NOW)
        await repository.save(paid, 4)
        billed = await repository.load("paying")
        assert billed is not None
        assert (billed.state, billed.receipt_no, billed.change) == (CartState.COMPLETED, 1, 650)
    finally:
        await repository.close()
    stored = await _rows(location, "SELECT document FROM carts ORDER BY cart_id")
    assert all('"lineItems"' not in str(row[0]) for row in stored)  # both moved to line rows


async def test_a_scan_writes_its_line_and_the_header_only(new_database: Location) -> None:
    location = new_database()
    repository = await open_repository(CartSettings(cart_db=location), create=True)
    try:
        cart = a_cart("c1")
        await repository.create(cart)
        version = 1
        for n in range(30):
            cart.add_lines([line(f"I{n}", 100 + n)], "JPY")
            await repository.save(cart, version)
            version += 1
        assert cart_saving.lines_to_save(cart) == []  # nothing left to write
        cart.change_quantity(7, 3)
        assert [n for n, _ in cart_saving.lines_to_save(cart)] == [7]
        await repository.save(cart, version)
        header = await _rows(location, "SELECT document FROM carts WHERE cart_id = 'c1'")
        assert '"lineItems"' not in str(header[0][0])  # the lines live in their own rows
        lines = await _rows(location, "SELECT count(*) FROM cart_lines WHERE cart_id = 'c1'")
        assert lines == [(30,)]
        loaded = await repository.load("c1")
        assert loaded is not None
        assert cart_json.document(loaded) == cart_json.document(cart)
        assert loaded.line_items[6].quantity == 3
    finally:
        await repository.close()


async def test_a_whole_document_written_over_a_moved_cart_wins(new_database: Location) -> None:
    """An earlier release still running writes the whole cart into the header's column."""
    location = new_database()
    repository = await open_repository(CartSettings(cart_db=location), create=True)
    try:
        cart = a_cart("c1")
        await repository.create(cart)
        cart.add_lines([line("A", 100)], "JPY")
        await repository.save(cart, 1)
        cart.add_lines([line("B", 200)], "JPY")
        cart.version = 3
        whole = cart.model_dump_json(by_alias=True)
        mark = "$1" if is_postgres(location) else "?"
        update = f"UPDATE carts SET document = {mark}, version = 3"  # noqa: S608 - a placeholder
        if is_postgres(location):
            connection = await asyncpg.connect(location)
            try:
                await connection.execute(update, whole)
            finally:
                await connection.close()
        else:
            with sqlite3.connect(location) as connection:
                connection.execute(update, (whole,))
        loaded = await repository.load("c1")
        assert loaded is not None
        assert [li.item_code for li in loaded.line_items] == ["A", "B"]
        await repository.save(loaded, 3)  # writes every line again
        again = await repository.load("c1")
        assert again is not None
        assert cart_json.document(again) == cart_json.document(loaded)
    finally:
        await repository.close()
