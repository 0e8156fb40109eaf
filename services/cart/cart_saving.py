"""What a save writes: the cart's header row and the rows of the lines changed since the last
save, and a cart read back from those rows."""

from __future__ import annotations

from collections.abc import Iterable

from . import cart_json
from .cart import Cart
from .cart_values import LineItem


def lines_to_save(cart: Cart) -> list[tuple[int, str]]:
    """(line number, JSON) of every line changed since the last save: all of them for a cart
    not saved by lines yet."""
    unsaved = cart.changes.unsaved
    numbers = range(1, len(cart.line_items) + 1) if unsaved is None else sorted(unsaved)
    written = cart_json.line_documents(cart)
    return [(n, written[n - 1]) for n in numbers]


def saved(cart: Cart) -> None:
    """The store has the cart as it is now: nothing is left to write."""
    changes = cart.changes
    unsaved = changes.unsaved
    changes.saved_lines = (
        list(range(1, len(cart.line_items) + 1)) if unsaved is None else sorted(unsaved)
    )
    changes.unsaved = set()


def from_rows(header: str, lines: Iterable[str]) -> Cart:
    """A cart as the store keeps it: its header row and its line rows, in line order. A header
    that holds lines is a whole document (stored before lines had rows, or written over the row
    by an earlier release): it wins, and the next save writes every line."""
    cart = Cart.model_validate_json(header)
    if cart.line_items:
        return cart
    cart.line_items = [LineItem.model_validate_json(line) for line in lines]
    cart.changes.unsaved = set()
    return cart
