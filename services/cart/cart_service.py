"""The cart operations: load, change, save; with the item lookups the changes need.

Changes to one cart are serialised in this process (a lock per cart) and guarded across
processes by the cart's version: a save that lost the race reloads and reapplies the change,
and after a few losses the caller gets 409 version_conflict. Nothing is acknowledged before it
is saved.

Open carts stay in process between requests (`CART_CACHE_SIZE`; a closed one changes no
more and is rarely read again, so it goes): a change starts from the cart as
this process last saved it, and the save's version check catches one another process changed
since (it reloads then); a read checks the stored version first. A change that fails drops the
cart from the cache, since it may be half applied in memory.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .cart import Cart
from .cart_cache import CartCache
from .cart_values import (
    MAX_QUANTITY,
    CartState,
    Discount,
    LineItem,
    LineScan,
    NetWeight,
    PaymentMethod,
    PriceSource,
    WeightUnit,
)
from .errors import CartError, ErrorCode
from .item_master import ItemDetail, ItemLookupError, ItemMasterClient, LookupFailure
from .item_master.model import ScanAnswer, ScanRefusal
from .keyed_locks import KeyedLocks
from .receipt import Receipt
from .repository import (
    CartRepository,
    Closing,
    IdempotencyKey,
    KeyTaken,
    TooManyOpenCarts,
    VersionConflict,
    kept_document,
)
from .terminals import Terminal
from .transaction_service import Closings

MAX_SAVE_ATTEMPTS: Final = 5
_CLOSED: Final = frozenset({CartState.COMPLETED, CartState.CANCELLED})
CART_CACHE_SECONDS: Final = 900.0  # a cart idle this long is read from the store again

LOOKUP_ERRORS: Final = {
    LookupFailure.NOT_FOUND: ErrorCode.ITEM_NOT_FOUND,
    LookupFailure.TENANT_NOT_FOUND: ErrorCode.TENANT_NOT_FOUND,
    LookupFailure.STORE_NOT_FOUND: ErrorCode.STORE_NOT_FOUND,
    LookupFailure.INVALID: ErrorCode.VALIDATION_ERROR,
    LookupFailure.REJECTED: ErrorCode.MASTER_DATA_REJECTED,
    LookupFailure.FAILED: ErrorCode.MASTER_DATA_FAILED,
    LookupFailure.UNAVAILABLE: ErrorCode.MASTER_DATA_UNAVAILABLE,
}


@dataclass(frozen=True, slots=True)
class LineRequest:
    """One item to add: a price override only when asked for explicitly."""

    item_code: str  # "" until a scan names it
    quantity: int
    override_unit_price: int | None = None
    scan: str | None = None  # what the scanner read, instead of an item code


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _line(
    request: LineRequest, item: ItemDetail, last_known: bool, scanned: ScanAnswer | None = None
) -> LineItem:
    overridden = request.override_unit_price is not None
    lowered = overridden and (request.override_unit_price or 0) < item.unit_price
    if item.discount_restricted and lowered:  # a lower price is a discount by another name
        raise CartError(
            ErrorCode.DISCOUNT_RESTRICTED,
            f"{item.item_code} may not be discounted: its unit price stays at least "
            f"{item.unit_price}",
        )
    label_price = None if scanned is None else scanned.label_price
    listed = item.unit_price if label_price is None else label_price  # a label's price rules
    unit_price = listed if request.override_unit_price is None else request.override_unit_price
    return LineItem(
        line_no=0,  # numbered when added
        item_code=item.item_code,
        item_name=item.item_name,
        category_code=item.category_code,
        unit_price=unit_price,
        quantity=request.quantity,
        tax_code=item.tax_code,
        tax_type=item.tax_rule.tax_type,
        tax_rate_basis_points=item.tax_rule.rate_basis_points,
        tax_rounding=item.tax_rule.rounding,
        price_overridden=overridden,
        original_unit_price=item.unit_price if overridden else None,
        price_source=PriceSource.LAST_KNOWN if last_known else PriceSource.MASTER_DATA,
        discount_restricted=item.discount_restricted,
        scan=None if scanned is None or request.scan is None else line_scan(request.scan, scanned),
    )


@functools.lru_cache(maxsize=4096)
def line_scan(scan: str, answer: ScanAnswer) -> LineScan:
    """What a line records of its scan (one frozen object per scan and answer)."""
    weight = answer.net_weight
    return LineScan(
        scan=scan,
        barcode=answer.barcode,
        source=answer.source,
        layout_id=answer.layout_id,
        label_price=answer.label_price,
        net_weight=None if weight is None
        else NetWeight(value=weight[0], decimals=weight[1], unit=WeightUnit(weight[2])),
        lot=answer.lot,
        expiry_date=answer.expiry_date,
        weighed_rounding=answer.weighed_rounding,
    )  # fmt: skip


class CartService:
    """Every cart operation a terminal may ask for, each checked against the terminal's store."""

    def __init__(
        self,
        repository: CartRepository,
        items: ItemMasterClient,
        *,
        clock: Callable[[], datetime.datetime] = _utcnow,
        cache_size: int = 2_000,
        cache_bytes: int = 16 << 20,
        max_open_carts: int = 0,
        closings: Closings | None = None,
    ) -> None:
        self._repository = repository
        self._items = items
        self._clock = clock
        self._closings = closings or Closings(clock=clock)
        self._locks = KeyedLocks()
        self._carts = CartCache(cache_size, cache_bytes, CART_CACHE_SECONDS)
        self._max_open = max_open_carts  # per terminal; 0: no limit

    @property
    def kept_carts(self) -> CartCache:
        """The carts kept in process between requests."""
        return self._carts

    async def create(self, terminal: Terminal, idempotency: IdempotencyKey | None = None) -> Cart:
        if idempotency is not None and (kept := await self._kept(idempotency)) is not None:
            return _owned(terminal, kept.cart_id, kept)
        now = self._clock()
        cart = Cart(
            cart_id=str(uuid.uuid4()),
            tenant_id=terminal.tenant_id,
            store_code=terminal.store_code,
            terminal_id=terminal.terminal_id,
            created_at=now,
            updated_at=now,
        )
        try:
            await self._repository.create(cart, idempotency, max_open=self._max_open)
        except TooManyOpenCarts:
            raise CartError(
                ErrorCode.TOO_MANY_OPEN_CARTS,
                f"this terminal has {self._max_open} open carts: bill or cancel one first",
            ) from None
        except KeyTaken:  # the same request, at another replica a moment before
            assert idempotency is not None  # noqa: S101 - only a key can be taken
            kept = await self._kept(idempotency)
            if kept is None:
                raise CartError(ErrorCode.VERSION_CONFLICT, "busy: try again") from None
            return _owned(terminal, kept.cart_id, kept)
        self._carts.put(cart)
        return cart

    async def _kept(self, idempotency: IdempotencyKey) -> Cart | None:
        """The cart a change with this key left, None when the key is new (or expired); the
        same key with another request is refused."""
        document = await kept_document(self._repository, idempotency)
        return None if document is None else Cart.model_validate_json(document)

    async def get(self, terminal: Terminal, cart_id: str) -> Cart:
        async with self._locks.hold(cart_id):  # never a change half done
            cached = self._carts.get(cart_id)
            if cached is not None and await self._repository.version(cart_id) == cached.version:
                return _owned(terminal, cart_id, cached)
            return _owned(terminal, cart_id, await self._load(cart_id))

    async def _load(self, cart_id: str) -> Cart | None:
        cart = await self._repository.load(cart_id)
        if cart is not None:
            self._carts.put(cart)
        return cart

    async def add_lines(
        self,
        terminal: Terminal,
        cart_id: str,
        requests: list[LineRequest],
        deadline: float | None = None,
        idempotency: IdempotencyKey | None = None,
    ) -> Cart:
        """Look every item up in one batch call, then add them all or none."""
        if idempotency is not None and (kept := await self._kept(idempotency)) is not None:
            return _owned(terminal, cart_id, kept)  # asked again: not looked up, not applied
        scanned = await self._scans(terminal, requests, deadline)
        requests = [
            r if r.scan is None else dataclasses.replace(r, item_code=scanned[r.scan].item_code)
            for r in requests
        ]
        codes = [r.item_code for r in requests]
        try:
            found = await self._items.get_items(
                terminal.tenant_id,
                terminal.store_code,
                codes,
                terminal_id=terminal.terminal_id,
                deadline=deadline,
            )
        except ItemLookupError as error:
            raise CartError(LOOKUP_ERRORS[error.failure], error.message) from None
        if found.not_found:
            raise CartError(
                ErrorCode.ITEM_NOT_FOUND,
                f"item {', '.join(found.not_found)} not found",
                [{"field": "itemCode", "itemCode": code} for code in found.not_found],
            )
        inactive = [code for code in dict.fromkeys(codes) if not found.found[code].is_active]
        if inactive:
            raise CartError(
                ErrorCode.ITEM_INACTIVE,
                f"item {', '.join(inactive)} is not for sale",
                [{"field": "itemCode", "itemCode": code} for code in inactive],
            )
        currencies = {found.found[code].currency_code for code in codes}
        if len(currencies) != 1:
            raise CartError(
                ErrorCode.VALIDATION_ERROR, "the items are priced in different currencies"
            )
        lines = [
            _line(r, found.found[r.item_code], r.item_code in found.last_known,
                  None if r.scan is None else scanned[r.scan])
            for r in requests
        ]  # fmt: skip
        currency = currencies.pop()  # once: a change may be applied again after a conflict
        return await self._change(
            terminal, cart_id, lambda cart: cart.add_lines(lines, currency), idempotency
        )

    async def _scans(
        self, terminal: Terminal, requests: list[LineRequest], deadline: float | None
    ) -> dict[str, ScanAnswer]:
        """What each scan of the requests names; refused when one is invalid or names none."""
        scans = [r.scan for r in requests if r.scan is not None]
        if not scans:
            return {}
        try:
            answers = await self._items.resolve_scans(
                terminal.tenant_id, terminal.store_code, scans,
                terminal_id=terminal.terminal_id, deadline=deadline,
            )  # fmt: skip
        except ItemLookupError as error:
            raise CartError(LOOKUP_ERRORS[error.failure], error.message) from None
        refused = [(scan, a) for scan, a in answers.items() if isinstance(a, ScanRefusal)]
        invalid = [(scan, a) for scan, a in refused if a.kind == "invalid"]
        if invalid:
            raise CartError(
                ErrorCode.VALIDATION_ERROR,
                f"scan {invalid[0][0]!r}: {invalid[0][1].message}",
                [{"field": "scan", "scan": scan, "message": a.message} for scan, a in invalid],
            )
        if refused:
            raise CartError(
                ErrorCode.ITEM_NOT_FOUND,
                "; ".join(a.message for _, a in refused),
                [{"field": "scan", "scan": scan, "barcode": a.barcode} for scan, a in refused],
            )
        found = {scan: a for scan, a in answers.items() if isinstance(a, ScanAnswer)}
        weighed = [r.scan for r in requests if r.scan is not None and r.quantity != 1
                   and found[r.scan].net_weight is not None]  # fmt: skip
        if weighed:
            raise CartError(
                ErrorCode.VALIDATION_ERROR,
                "a weighed label is one line: its quantity is its weight",
                [{"field": "quantity", "scan": scan} for scan in weighed],
            )
        return found

    async def cancel_line(
        self,
        terminal: Terminal,
        cart_id: str,
        line_no: int,
        idempotency: IdempotencyKey | None = None,
    ) -> Cart:
        return await self._change(
            terminal, cart_id, lambda cart: cart.cancel_line(line_no), idempotency
        )

    async def change_quantity(
        self,
        terminal: Terminal,
        cart_id: str,
        line_no: int,
        quantity: int,
        idempotency: IdempotencyKey | None = None,
    ) -> Cart:
        if not 1 <= quantity <= MAX_QUANTITY:
            raise CartError(ErrorCode.VALIDATION_ERROR, f"quantity must be 1 to {MAX_QUANTITY}")
        return await self._change(
            terminal, cart_id, lambda cart: cart.change_quantity(line_no, quantity), idempotency
        )

    async def change_unit_price(
        self,
        terminal: Terminal,
        cart_id: str,
        line_no: int,
        unit_price: int,
        idempotency: IdempotencyKey | None = None,
    ) -> Cart:
        return await self._change(
            terminal, cart_id, lambda cart: cart.change_unit_price(line_no, unit_price), idempotency
        )

    async def discount_line(
        self,
        terminal: Terminal,
        cart_id: str,
        line_no: int,
        discounts: list[Discount],
        idempotency: IdempotencyKey | None = None,
    ) -> Cart:
        def change(cart: Cart) -> None:  # copies: a change may be applied again
            cart.discount_line(line_no, [d.model_copy() for d in discounts])

        return await self._change(terminal, cart_id, change, idempotency)

    async def discount_cart(
        self,
        terminal: Terminal,
        cart_id: str,
        discounts: list[Discount],
        idempotency: IdempotencyKey | None = None,
    ) -> Cart:
        def change(cart: Cart) -> None:
            cart.discount_cart([d.model_copy() for d in discounts])

        return await self._change(terminal, cart_id, change, idempotency)

    async def resume_item_entry(
        self, terminal: Terminal, cart_id: str, idempotency: IdempotencyKey | None = None
    ) -> Cart:
        return await self._change(terminal, cart_id, Cart.resume_item_entry, idempotency)

    async def subtotal(
        self, terminal: Terminal, cart_id: str, idempotency: IdempotencyKey | None = None
    ) -> Cart:
        return await self._change(terminal, cart_id, Cart.subtotal_now, idempotency)

    async def pay(
        self,
        terminal: Terminal,
        cart_id: str,
        method: PaymentMethod,
        amount: int,
        idempotency: IdempotencyKey | None = None,
    ) -> Cart:
        return await self._change(
            terminal, cart_id, lambda cart: cart.pay(method, amount), idempotency
        )

    async def bill(
        self, terminal: Terminal, cart_id: str, idempotency: IdempotencyKey | None = None
    ) -> tuple[Cart, Receipt]:
        now = self._clock()
        cart = await self._change(
            terminal,
            cart_id,
            lambda cart: cart.bill(now),
            idempotency,
            self._closings.closing(),
        )
        return cart, Receipt.of(cart)

    async def cancel(
        self, terminal: Terminal, cart_id: str, idempotency: IdempotencyKey | None = None
    ) -> Cart:
        """Cancel the cart: it takes a receipt number and writes a cancel transaction."""
        return await self._change(
            terminal, cart_id, Cart.cancel, idempotency, self._closings.closing()
        )

    async def _change(
        self,
        terminal: Terminal,
        cart_id: str,
        change: Callable[[Cart], None],
        idempotency: IdempotencyKey | None = None,
        closing: Closing | None = None,
    ) -> Cart:
        """Apply the change and save it, again on a cart another process moved on; a change
        whose Idempotency-Key is kept answers what it answered then, applied once."""
        async with self._locks.hold(cart_id):
            for attempt in range(MAX_SAVE_ATTEMPTS):
                if idempotency is not None and (kept := await self._kept(idempotency)) is not None:
                    return _owned(terminal, cart_id, kept)
                cached = self._carts.get(cart_id) if attempt == 0 else None
                cart = _owned(terminal, cart_id, cached or await self._load(cart_id))
                version = cart.version
                try:
                    change(cart)
                    cart.updated_at = self._clock()
                    await self._repository.save(cart, version, idempotency, closing)
                except (VersionConflict, KeyTaken):
                    self._carts.discard(cart_id)
                    continue  # another process saved first: reload and apply again
                except CartError:
                    self._carts.discard(cart_id)
                    if cached is not None:
                        continue  # judged on a cart another process may have moved on: reload
                    raise
                except BaseException:
                    self._carts.discard(cart_id)  # the change may be half applied in memory
                    raise
                if cart.state in _CLOSED:
                    self._carts.discard(cart_id)  # it changes no more: rarely read again
                else:
                    self._carts.put(cart)  # measured again: the change may have grown it
                return cart
        raise CartError(ErrorCode.VERSION_CONFLICT, f"cart {cart_id} is busy: try again")


def _owned(terminal: Terminal, cart_id: str, cart: Cart | None) -> Cart:
    """The cart, if it is one of the terminal's store; another store's cart is "not found":
    its existence must not leak."""
    if cart is None or (cart.tenant_id, cart.store_code) != (
        terminal.tenant_id,
        terminal.store_code,
    ):
        raise CartError(ErrorCode.CART_NOT_FOUND, f"cart {cart_id} not found")
    return cart
